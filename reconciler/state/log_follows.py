"""Followed container logs relayed from a worker to the API process that streams them, for an
API without cluster credentials (RECONCILER_API_CLUSTER_ACCESS=workers): the worker appends
each line to a short stream per request, the API reads it with a blocking XREAD and keeps a
"wanted" key alive while its client listens; the worker stops when that key expires.

Entries are `{"type": started|line|ping|error|end, "text": ...}`; log lines are what the
container wrote (the API streams them as they are), nothing of the system's own.
"""

from __future__ import annotations

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys

FOLLOW_MAX_ENTRIES = 10_000  # a reader that falls this far behind misses the oldest lines
FOLLOW_TTL_SECONDS = 120  # the stream outlives a silent worker or API by this much, then goes

LogEntry = tuple[str, str, str]  # (stream id, type, text)


class LogFollowsState(RedisState):
    def want_log_follow(self, request_id: str, ttl_seconds: int) -> None:
        """The API still streams this request's lines to a client (renewed while it does)."""
        self.r.set(Keys.log_follow_wanted(request_id), "1", ex=max(ttl_seconds, 1))

    def drop_log_follow(self, request_id: str) -> None:
        self.r.delete(Keys.log_follow_wanted(request_id), Keys.log_follow(request_id))

    def log_follow_wanted(self, request_id: str) -> bool:
        return bool(self.r.exists(Keys.log_follow_wanted(request_id)))

    def add_log_entry(self, request_id: str, kind: str, text: str = "") -> None:
        key = Keys.log_follow(request_id)
        with self.r.pipeline(transaction=False) as pipe:
            pipe.xadd(key, {"type": kind, "text": text}, maxlen=FOLLOW_MAX_ENTRIES, approximate=True)
            pipe.expire(key, FOLLOW_TTL_SECONDS)
            pipe.execute()

    def read_log_entries(self, request_id: str, after: str, block_ms: int) -> list[LogEntry]:
        """Entries after stream id `after` ("0-0" from the start), waiting up to `block_ms`."""
        answer = self.r.xread({Keys.log_follow(request_id): after}, count=1000, block=block_ms)
        entries: list[LogEntry] = []
        for _stream, items in answer or []:
            for entry_id, fields in items:
                entries.append((str(entry_id), str(fields.get("type", "")), str(fields.get("text", ""))))
        return entries
