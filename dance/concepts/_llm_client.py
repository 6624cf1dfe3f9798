"""Chat-completion calls to any OpenAI-compatible endpoint, with retries and a rate limit.

Retries (ours, not the openai client's, so the waits are configurable and Retry-After is
capped) cover 429, 408/409, 5xx, timeouts, lost connections and malformed response
bodies (a proxy that truncates a body usually does so transiently). Other HTTP errors
(400, 401, 403, 404, ...) fail at once. The API key is read from the environment
variable the config names and is scrubbed from every message we raise or log.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import openai

from dance.config import LanguageConceptConfig
from dance.errors import DanceError

logger = logging.getLogger(__name__)

OPENAI_DEFAULT_ENDPOINT = "https://api.openai.com/v1"
_RETRYABLE_STATUS = frozenset({408, 409, 429})
_REDACTED = "***"

Message = dict[str, str]


def endpoint_of(config: LanguageConceptConfig) -> str:
    """The base URL requests go to (OpenAI's when `base_url` is None), without a trailing /."""
    return (config.base_url or OPENAI_DEFAULT_ENDPOINT).rstrip("/")


class LLMQueryError(DanceError, RuntimeError):
    """A chat request failed for good (after its retries, or at once if not retryable)."""


class _RateLimiter:
    """Spaces request starts at least 60 / requests_per_minute seconds apart, across threads."""

    def __init__(self, requests_per_minute: float | None) -> None:
        """No limit when `requests_per_minute` is None."""
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._lock = threading.Lock()
        self._next_start = 0.0

    def wait(self) -> None:
        """Block until this caller may start a request."""
        if self._interval == 0.0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        if start > now:
            time.sleep(start - now)


@dataclass(frozen=True)
class _Retryable:
    """A failure worth retrying; `wait_hint_s` is the server's Retry-After, if any."""

    reason: str
    wait_hint_s: float | None = None


def _retry_after_s(response: object) -> float | None:
    """Seconds from a Retry-After / retry-after-ms header, or None when absent or a date."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP date: fall back to our own backoff
        if seconds >= 0:
            return seconds
    return None


class ChatClient:
    """Sends chat prompts to the configured endpoint and returns the answer text."""

    def __init__(self, config: LanguageConceptConfig) -> None:
        """Read the API key from the environment and build an openai client (no retries)."""
        key = os.environ.get(config.api_key_env, "")
        self.endpoint = endpoint_of(config)
        if not key:
            raise LLMQueryError(
                f"no API key for the LLM endpoint {self.endpoint}: the environment variable "
                f"{config.api_key_env} is empty or unset; export it (any non-empty value for "
                "endpoints without authentication), or set discover.language.api_key_env, "
                "or use discover.language.source=answers|files|annotations"
            )
        self._key = key
        self._config = config
        self._limiter = _RateLimiter(config.requests_per_minute)
        self._client = openai.OpenAI(
            api_key=key,
            base_url=self.endpoint,  # explicit: $OPENAI_BASE_URL must not redirect us silently
            timeout=config.timeout_s,
            max_retries=0,  # retries are ours: bounded, logged, Retry-After capped
        )

    def _scrub(self, text: str) -> str:
        """`text` with the API key replaced, so no message can leak it."""
        return text.replace(self._key, _REDACTED)

    def complete(self, messages: Sequence[Message], class_name: str) -> str:
        """The answer text to `messages`; raises LLMQueryError naming the endpoint and class."""
        config = self._config
        attempts = config.max_retries + 1
        for attempt in range(1, attempts + 1):
            self._limiter.wait()
            outcome = self._send_once(messages, class_name)
            if isinstance(outcome, str):
                return outcome
            if attempt == attempts:
                break
            backoff = config.backoff_initial_s * 2 ** (attempt - 1)
            hint = outcome.wait_hint_s
            wait = min(hint if hint is not None else backoff, config.backoff_max_s)
            logger.warning(
                "LLM request for class %r to %s failed (%s); retry %d of %d in %.3g s",
                class_name,
                self.endpoint,
                outcome.reason,
                attempt,
                config.max_retries,
                wait,
            )
            time.sleep(wait)
        raise LLMQueryError(
            f"the LLM endpoint {self.endpoint} (model {config.model}) failed for class "
            f"{class_name!r} after {attempts} tries; last error: {outcome.reason}. Check the "
            "endpoint, or raise discover.language.max_retries / backoff_max_s"
        )

    def _send_once(self, messages: Sequence[Message], class_name: str) -> str | _Retryable:
        """One request: the answer text, a _Retryable failure, or an LLMQueryError raised.

        Errors are raised outside the `except` blocks so they chain no openai exception,
        whose text could hold an echo of the key.
        """
        config = self._config
        fatal: LLMQueryError | None = None
        try:
            response = self._client.chat.completions.create(
                model=config.model,
                messages=list(messages),  # type: ignore[arg-type]
                temperature=config.temperature,
                max_tokens=config.max_tokens,
            )
        except openai.APITimeoutError:
            return _Retryable(f"timed out after {config.timeout_s} s")
        except openai.APIConnectionError as exc:
            return _Retryable(self._scrub(f"connection failed ({type(exc).__name__}: {exc})"))
        except openai.APIStatusError as exc:
            status = exc.status_code
            detail = self._scrub(f"HTTP {status}: {exc.message}")
            if status in _RETRYABLE_STATUS or status >= 500:
                return _Retryable(detail, _retry_after_s(exc.response))
            fatal = LLMQueryError(
                f"the LLM endpoint {self.endpoint} (model {config.model}) refused the request "
                f"for class {class_name!r}: {detail}; {_status_hint(status, config.api_key_env)}"
            )
        except (json.JSONDecodeError, openai.APIResponseValidationError) as exc:
            return _Retryable(self._scrub(f"malformed response body ({exc})"))
        if fatal is not None:
            raise fatal
        choices = getattr(response, "choices", None)
        if not choices:
            return _Retryable("malformed response: no choices in the body")
        content = choices[0].message.content
        return content if isinstance(content, str) else ""


def _status_hint(status: int, api_key_env: str) -> str:
    """What to fix for a non-retryable HTTP status."""
    if status in (401, 403):
        return f"check the key in ${api_key_env} and its access to the model"
    if status == 404:
        return "check discover.language.base_url and discover.language.model"
    return "check discover.language.model, temperature and max_tokens for this endpoint"
