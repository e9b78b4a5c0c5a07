"""A per-process cache of response bodies (and their gzip), least recently used out first.

Risk figures change only with a new run, so a body keyed by the run, the caller's
entitlement and the request can be served again without recomputing it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class BodyCache:
    """Recently served bodies (and their gzip), at most ``max_bytes`` in all; one per
    process, shared by its threads."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._data: OrderedDict[str, list[bytes | None]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> list[bytes | None] | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
            return entry

    def put(self, key: str, body: bytes) -> list[bytes | None]:
        entry: list[bytes | None] = [body, None]
        if len(body) > self.max_bytes // 4:
            return entry
        with self._lock:
            self._drop(key)
            self._data[key] = entry
            self._size += len(body)
            while self._size > self.max_bytes:
                self._drop(next(iter(self._data)))
        return entry

    def add_gzip(self, key: str, entry: list[bytes | None], data: bytes) -> None:
        with self._lock:
            if self._data.get(key) is entry and entry[1] is None:
                entry[1] = data
                self._size += len(data)

    def _drop(self, key: str) -> None:
        entry = self._data.pop(key, None)
        if entry is not None:
            self._size -= sum(len(b) for b in entry if b)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0
