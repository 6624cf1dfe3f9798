"""A real local HTTP server speaking the OpenAI chat-completions API, scriptable per test.

Runs stdlib `http.server` in a thread on 127.0.0.1. Each POST to
/v1/chat/completions is recorded (headers and JSON body) and answered by the first
queued `Reply`, else by the server's `responder(request) -> Reply`.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None

    @property
    def last_user_message(self) -> str:
        """The content of the last user message of a chat request ('' if none)."""
        messages = (self.body or {}).get("messages", [])
        users = [m.get("content", "") for m in messages if m.get("role") == "user"]
        return str(users[-1]) if users else ""


@dataclass(frozen=True)
class Reply:
    """What the server sends back: a status, a raw body and extra headers."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def chat_reply(content: str, model: str = "gpt-4o") -> Reply:
    """A 200 chat-completion response whose single choice says `content`."""
    payload = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }
    return Reply(200, json.dumps(payload).encode("utf-8"))


def error_reply(status: int, message: str, retry_after: str | None = None) -> Reply:
    """An OpenAI-style error response, optionally with a Retry-After header."""
    payload = {"error": {"message": message, "type": "server_error", "code": None}}
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Reply(status, json.dumps(payload).encode("utf-8"), headers)


def malformed_reply() -> Reply:
    """A 200 response whose body is not valid JSON (a truncated document)."""
    return Reply(200, b'{"id": "chatcmpl-test", "choices": [{"message": {"content": "- cu')


class OpenAITestServer:
    """A threaded chat-completions server on a free 127.0.0.1 port that counts requests."""

    def __init__(self, responder: Callable[[RecordedRequest], Reply] | None = None) -> None:
        """Create the server (not yet serving); `responder` answers unqueued requests."""
        self.responder: Callable[[RecordedRequest], Reply] = responder or (
            lambda _request: chat_reply("")
        )
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((HOST, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The OpenAI base URL of this server (ends in /v1)."""
        return f"http://{HOST}:{self._httpd.server_address[1]}/v1"

    @property
    def request_count(self) -> int:
        """How many requests arrived so far."""
        with self._lock:
            return len(self.requests)

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with `replies`, in order, before the responder."""
        with self._lock:
            self._queue.extend(replies)

    def answer(self, request: RecordedRequest) -> Reply:
        """Record `request` and choose its reply (queued first, then the responder)."""
        with self._lock:
            self.requests.append(request)
            queued = self._queue.popleft() if self._queue else None
        return queued if queued is not None else self.responder(request)

    def start(self) -> None:
        """Start serving in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler_for(server: OpenAITestServer) -> type[BaseHTTPRequestHandler]:
    """A request-handler class bound to `server`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw.decode("utf-8")) if raw else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                body = None
            request = RecordedRequest(self.path, dict(self.headers.items()), body)
            if not self.path.rstrip("/").endswith("/chat/completions"):
                reply = error_reply(404, f"no route {self.path}")
                server.answer(request)
            else:
                reply = server.answer(request)
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            """Silence the per-request stderr lines."""

    return Handler


@contextmanager
def running_openai_server(
    responder: Callable[[RecordedRequest], Reply] | None = None,
) -> Iterator[OpenAITestServer]:
    """Run an OpenAITestServer for the duration of the block."""
    server = OpenAITestServer(responder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
