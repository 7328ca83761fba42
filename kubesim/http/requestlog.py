"""The request log and per-verb counters that tests and benchmarks read.

Each entry holds what an API server's audit log would: method, path, query, status, verb,
when it was received (`time`, epoch seconds) and the client's `userAgent`.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

VERBS = ("get", "list", "watch", "create", "update", "patch", "apply", "delete", "deletecollection", "discovery")
LOG_SIZE = 100_000


class RequestLog:
    def __init__(self, size: int = LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._counts: dict[str, int] = dict.fromkeys(VERBS, 0)

    def record(self, method: str, path: str, query: str, status: int, duration_ms: float, verb: str,
               user_agent: str = "", received: float = 0.0) -> None:
        entry = {"method": method, "path": path, "query": query, "status": status,
                 "duration_ms": round(duration_ms, 3), "verb": verb, "userAgent": user_agent,
                 "time": received}
        with self._lock:
            self._entries.append(entry)
            if verb:
                self._counts[verb] = self._counts.get(verb, 0) + 1

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def stats(self) -> dict[str, int]:
        with self._lock:
            counts = dict(self._counts)
        counts["total"] = sum(counts.values())
        return counts

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._counts = dict.fromkeys(VERBS, 0)
