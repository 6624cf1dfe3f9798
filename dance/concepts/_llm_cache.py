"""On-disk cache of raw LLM answers (local or s3:// through dance.storage).

One JSON file per request, named by the sha256 of everything that shapes the answer:
endpoint, model, the full prompt messages, the class, the sample index, temperature and
max_tokens. A rerun with the same inputs reads every answer back and sends nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from dance import storage

_FORMAT = 1  # bump when the record layout changes, so old records are not misread


@dataclass(frozen=True)
class AnswerKey:
    """What identifies one LLM answer."""

    endpoint: str
    model: str
    messages: tuple[tuple[str, str], ...]  # (role, content) pairs
    class_name: str
    sample_index: int
    temperature: float
    max_tokens: int

    @classmethod
    def of(
        cls,
        endpoint: str,
        model: str,
        messages: Sequence[dict[str, str]],
        class_name: str,
        sample_index: int,
        temperature: float,
        max_tokens: int,
    ) -> AnswerKey:
        """A key from chat messages given as {"role", "content"} dicts."""
        pairs = tuple((m["role"], m["content"]) for m in messages)
        return cls(endpoint, model, pairs, class_name, sample_index, temperature, max_tokens)

    def digest(self) -> str:
        """sha256 hex digest of the canonical JSON of this key."""
        canonical = json.dumps(
            {
                "format": _FORMAT,
                "endpoint": self.endpoint,
                "model": self.model,
                "messages": [list(pair) for pair in self.messages],
                "class_name": self.class_name,
                "sample_index": self.sample_index,
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AnswerCache:
    """Raw answers stored as `{cache_dir}/{sha256}.json`, written atomically."""

    def __init__(self, cache_dir: str) -> None:
        """Use `cache_dir` (a local path or s3:// URI; created on first write)."""
        if not cache_dir:
            raise ValueError("cache_dir is empty; pass a directory for the raw LLM answers")
        self.cache_dir = cache_dir

    def path_for(self, key: AnswerKey) -> str:
        """Where the answer for `key` is stored."""
        return storage.join(self.cache_dir, f"{key.digest()}.json")

    def get(self, key: AnswerKey) -> str | None:
        """The cached answer for `key`, or None when it was never stored."""
        path = self.path_for(key)
        if not storage.exists(path):
            return None
        record = storage.read_json(path)
        answer = record.get("answer") if isinstance(record, dict) else None
        if not isinstance(answer, str):
            raise storage.StorageError(
                f"the cached LLM answer {path} has no string 'answer' field; delete the file "
                "to query the LLM again"
            )
        return answer

    def put(self, key: AnswerKey, answer: str) -> None:
        """Store `answer` for `key` with the key's fields beside it, for people reading it."""
        record = {
            "answer": answer,
            "class_name": key.class_name,
            "endpoint": key.endpoint,
            "max_tokens": key.max_tokens,
            "messages": [{"role": role, "content": content} for role, content in key.messages],
            "model": key.model,
            "sample_index": key.sample_index,
            "temperature": key.temperature,
        }
        storage.write_json(record, self.path_for(key))
