"""Sync windows: Argo CD's allow/deny rules, schedules in a time zone, manualSync."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.model import Application, Destination, Source, SyncWindow
from reconciler.model.sync_windows import is_active, sync_permission

APP = Application(
    name="web",
    namespace="argocd",
    project="default",
    source=Source(repo_url="https://example.com/repo.git", path="web"),
    destination=Destination(server="https://kubernetes.default.svc", namespace="shop"),
)
NIGHT = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)  # inside 22:00 + 1h
DAY = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def window(kind: str, *, manual: bool = False, zone: str = "UTC", **match: tuple[str, ...]) -> SyncWindow:
    return SyncWindow(kind=kind, schedule="0 22 * * *", duration=3600, time_zone=zone, manual_sync=manual,
                      duration_text="1h", **(match or {"applications": ("*",)}))


def test_window_is_active_for_its_duration_after_the_schedule_fires() -> None:
    assert is_active(window("deny"), NIGHT)
    assert not is_active(window("deny"), DAY)
    assert not is_active(window("deny"), datetime(2026, 1, 5, 23, 0, 1, tzinfo=UTC))


def test_schedule_is_read_in_the_window_time_zone() -> None:
    # 22:00 in Tokyo is 13:00 UTC.
    assert is_active(window("deny", zone="Asia/Tokyo"), datetime(2026, 1, 5, 13, 30, tzinfo=UTC))
    assert not is_active(window("deny", zone="Asia/Tokyo"), NIGHT)


def test_active_deny_window_holds_automated_and_manual_syncs_unless_manual_sync_is_set() -> None:
    held = sync_permission((window("deny"),), APP, NIGHT, manual=False)
    assert not held.allowed and "deny window '0 22 * * *'" in held.reason
    assert not sync_permission((window("deny"),), APP, NIGHT, manual=True).allowed
    assert sync_permission((window("deny", manual=True),), APP, NIGHT, manual=True).allowed
    assert not sync_permission((window("deny", manual=True),), APP, NIGHT, manual=False).allowed
    assert sync_permission((window("deny"),), APP, DAY, manual=False).allowed


def test_outside_every_allow_window_syncs_are_held() -> None:
    held = sync_permission((window("allow"),), APP, DAY, manual=False)
    assert not held.allowed and "outside every allow window" in held.reason
    assert sync_permission((window("allow"),), APP, NIGHT, manual=False).allowed
    assert sync_permission((window("allow", manual=True),), APP, DAY, manual=True).allowed


def test_window_applies_only_to_matching_applications_namespaces_or_clusters() -> None:
    other = window("deny", applications=("api-*",))
    assert sync_permission((other,), APP, NIGHT, manual=False).allowed
    by_namespace = window("deny", namespaces=("sh*",))
    assert not sync_permission((by_namespace,), APP, NIGHT, manual=False).allowed
    by_cluster = window("deny", clusters=("https://kubernetes.default.svc",))
    assert not sync_permission((by_cluster,), APP, NIGHT, manual=False).allowed
