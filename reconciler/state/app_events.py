"""The stream of application changes the API's server-sent events relay (`rc:app-events`).

Writers add an entry where they write what a viewer sees: a status whose visible part changed
(state/status.py, in the same script as the write), an operation state (operations.py), the
app registered or deleted (registry.py), the watcher's index of the app's live objects
(live.py). An entry is `{type, app}`: `status`, `operation`, `tree` or `deleted`; readers fetch
the current summary themselves, so an entry never carries data a caller may not see.

Why a Redis stream and not pub/sub: every API replica reads the same stream with XREAD from
its own position, without consumer groups (each replica needs every entry), and a client that
reconnects with `Last-Event-ID` resumes from the entry it saw last while that entry is still
kept (the stream is capped at about APP_EVENTS_KEPT entries). XREAD BLOCK answers as soon as an
entry is added, so a change reaches an open stream in the time of one round trip.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.state.base import RedisState
from reconciler.state.keys import Keys

APP_EVENTS_KEPT = 100_000  # about a quarter of an hour of changes at 10,000 apps
EVENT_TYPES = ("status", "operation", "tree", "deleted")

AppEvent = tuple[str, str, str]  # stream id, type, app


class AppEventsState(RedisState):
    def publish_app_events(self, kind: str, apps: Iterable[str]) -> None:
        """One entry per app (a batch in one round trip)."""
        names = sorted(set(apps))
        if not names:
            return
        with self.r.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.xadd(Keys.app_events, {"type": kind, "app": name}, maxlen=APP_EVENTS_KEPT, approximate=True)
            pipe.execute()

    def last_app_event_id(self) -> str:
        """The id of the newest entry ("0-0" when there is none): where a new reader starts."""
        newest = self.r.xrevrange(Keys.app_events, count=1)
        return str(newest[0][0]) if newest else "0-0"

    def read_app_events(self, after: str, block_ms: int, count: int = 1000) -> list[AppEvent]:
        """Entries after stream id `after`, waiting up to `block_ms` for the first one."""
        answer = self.r.xread({Keys.app_events: after}, count=count, block=block_ms)
        events: list[AppEvent] = []
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                events.append((str(entry_id), str(fields.get("type", "")), str(fields.get("app", ""))))
        return events

    def app_events_since(self, after: str, count: int = 10_000) -> list[AppEvent] | None:
        """Entries after `after` (a reconnecting client's Last-Event-ID), or None when that entry
        is no longer kept (the client must reload instead of resuming)."""
        oldest = self.r.xrange(Keys.app_events, count=1)
        # "0-0": the reader started on an empty stream, so whatever is there now is all new.
        if after != "0-0" and oldest and _id_before(after, str(oldest[0][0])):
            return None
        entries = self.r.xrange(Keys.app_events, min=f"({after}", count=count)
        return [(str(i), str(f.get("type", "")), str(f.get("app", ""))) for i, f in entries]


def _id_before(a: str, b: str) -> bool:
    def parts(value: str) -> tuple[int, int]:
        ms, _, seq = value.partition("-")
        return int(ms or 0), int(seq or 0)

    return parts(a) < parts(b)


def valid_event_id(value: str) -> bool:
    ms, sep, seq = value.partition("-")
    return bool(sep) and ms.isdigit() and seq.isdigit()
