"""AppProject sync windows: reading them, and whether one is open at a moment.

    read_sync_window(reader, item, path) -> SyncWindow | None   problems name the field
    sync_permission(windows, app, now, manual) -> Permission     Argo CD's rules

Argo CD's rules (pkg/apis/application/v1alpha1 `SyncWindows.CanSync`):
- a window applies to an app when one of its `applications`, `namespaces` or `clusters`
  globs matches the app's name, destination namespace, or destination server/name;
- an active `deny` window blocks syncs (a manual one passes when every active deny window
  has `manualSync: true`);
- otherwise an active `allow` window lets them run;
- otherwise, when allow windows apply but none is active, syncs are blocked (a manual one
  passes when one of them has `manualSync: true`);
- with no window applying, syncs run.

Schedules are five-field cron expressions read by `cronsim` in the window's `timeZone`
(IANA name, default UTC); a window is active from each time its schedule fires for
`duration` (a Go duration: `1h`, `30m`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from reconciler.core.durations import parse_duration
from reconciler.model.types import Application, SyncWindow
from reconciler.model.yaml_reader import FieldReader, describe_value

_FIELDS = {"kind", "schedule", "duration", "timeZone", "applications", "namespaces", "clusters", "manualSync"}


def read_sync_window(r: FieldReader, item: Any, path: str) -> SyncWindow | None:
    if not isinstance(item, dict):
        r.problem(path, f"must be a mapping with kind, schedule and duration, found {describe_value(item)}")
        return None
    for key in item:
        if key not in _FIELDS:
            r.problem(f"{path}.{key}", f"is not supported; sync windows take {', '.join(sorted(_FIELDS))}")
    kind = r.string(item, "kind", f"{path}.kind")
    if kind not in ("allow", "deny"):
        r.problem(f"{path}.kind", f'"{kind}" must be allow or deny')
    schedule = r.string(item, "schedule", f"{path}.schedule")
    try:
        CronSim(schedule, datetime(2000, 1, 1))
    except (CronSimError, ValueError) as exc:
        r.problem(
            f"{path}.schedule", f'"{schedule}" is not a cron schedule ({exc}); write five fields like "0 22 * * *"'
        )
    duration_text = r.string(item, "duration", f"{path}.duration")
    try:
        duration = parse_duration(duration_text)
        if duration <= 0:
            raise ValueError("it must be longer than 0")
    except ValueError as exc:
        r.problem(f"{path}.duration", f'"{duration_text}" is not a duration ({exc}); write one like 1h or 30m')
        duration = 0.0
    time_zone = r.string(item, "timeZone", f"{path}.timeZone") or "UTC"
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(f"{path}.timeZone", f'"{time_zone}" is not a time zone; write an IANA name like Europe/Paris')
    window = SyncWindow(
        kind=kind,
        schedule=schedule,
        duration=duration,
        time_zone=time_zone,
        applications=r.strings(item, "applications", f"{path}.applications"),
        namespaces=r.strings(item, "namespaces", f"{path}.namespaces"),
        clusters=r.strings(item, "clusters", f"{path}.clusters"),
        manual_sync=r.boolean(item, "manualSync", f"{path}.manualSync"),
        duration_text=duration_text,
    )
    if not (window.applications or window.namespaces or window.clusters):
        r.problem(path, "names no applications, namespaces or clusters, so it applies to nothing; add one (\"*\")")
    return window


def applies_to(window: SyncWindow, app: Application) -> bool:
    def any_match(patterns: tuple[str, ...], *values: str) -> bool:
        return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns for value in values if value)

    destination = app.destination
    return (
        any_match(window.applications, app.name)
        or any_match(window.namespaces, destination.namespace)
        or any_match(window.clusters, destination.server, destination.name)
    )


def is_active(window: SyncWindow, now: datetime) -> bool:
    """The schedule fired less than `duration` before `now`."""
    zone = ZoneInfo(window.time_zone)
    local_now = now.astimezone(zone)
    start = (local_now - timedelta(seconds=window.duration)).replace(tzinfo=None)
    fire = next(iter(CronSim(window.schedule, start)))
    fired = fire.replace(tzinfo=zone) if fire.tzinfo is None else fire
    return fired <= local_now


@dataclass(frozen=True)
class Permission:
    allowed: bool
    reason: str = ""  # why a sync is held
    windows: tuple[dict[str, Any], ...] = ()  # the windows that apply, with `active`


def sync_permission(windows: tuple[SyncWindow, ...], app: Application, now: datetime, *, manual: bool) -> Permission:
    applying = [w for w in windows if applies_to(w, app)]
    shown = tuple(
        {
            "kind": w.kind,
            "schedule": w.schedule,
            "duration": w.duration_text,
            "timeZone": w.time_zone,
            "manualSync": w.manual_sync,
            "active": is_active(w, now),
        }
        for w in applying
    )
    if not applying:
        return Permission(True, windows=shown)
    active = [w for w, s in zip(applying, shown, strict=True) if s["active"]]
    denies = [w for w in active if w.kind == "deny"]
    who = "a manual sync" if manual else "automated syncs"
    if denies:
        if manual and all(w.manual_sync for w in denies):
            return Permission(True, windows=shown)
        first = denies[0]
        reason = f"{who} held: deny window '{first.schedule}' ({first.duration_text}, {first.time_zone}) is active"
        if manual:
            reason += "; set manualSync: true on it to allow manual syncs"
        return Permission(False, reason, shown)
    if any(w.kind == "allow" for w in active):
        return Permission(True, windows=shown)
    allows = [w for w in applying if w.kind == "allow"]
    if allows:
        if manual and any(w.manual_sync for w in allows):
            return Permission(True, windows=shown)
        schedules = ", ".join(f"'{w.schedule}'" for w in allows)
        return Permission(False, f"{who} held: outside every allow window ({schedules})", shown)
    return Permission(True, windows=shown)
