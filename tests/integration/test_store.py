"""The Redis store against a real redis-server: locks, status ordering, history, schedule claims."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.state import Keys, Store


@pytest.fixture
def store(redis_client: object) -> Store:
    return Store(redis_client)  # type: ignore[arg-type]


def test_lock_is_exclusive_until_released_by_its_token(store: Store) -> None:
    assert store.acquire_lock("api", "op-1", ttl_seconds=30)
    assert not store.acquire_lock("api", "op-2", ttl_seconds=30)
    assert not store.release_lock("api", "op-2")
    assert store.lock_holder("api") == "op-1"
    assert store.release_lock("api", "op-1")
    assert store.acquire_lock("api", "op-2", ttl_seconds=30)


def test_lock_renewal_fails_for_a_token_that_lost_the_lock(store: Store) -> None:
    assert store.acquire_lock("api", "op-1", ttl_seconds=30)
    assert store.renew_lock("api", "op-1", ttl_seconds=60)
    assert store.release_lock("api", "op-1")
    assert store.acquire_lock("api", "op-2", ttl_seconds=30)
    assert not store.renew_lock("api", "op-1", ttl_seconds=60)
    assert store.r.pttl("rc:lock:api") <= 30_000


def test_lock_expires_after_its_ttl(store: Store) -> None:
    assert store.acquire_lock("api", "op-1", ttl_seconds=0.05)
    time.sleep(0.1)
    assert store.acquire_lock("api", "op-2", ttl_seconds=30)


def test_status_write_never_goes_backwards(store: Store) -> None:
    assert store.write_status("api", {"sync": "Synced", "observedAt": 200.0})
    assert not store.write_status("api", {"sync": "OutOfSync", "observedAt": 100.0})
    assert store.status("api")["sync"] == "Synced"  # type: ignore[index]
    assert store.write_status("api", {"sync": "OutOfSync", "observedAt": 300.0})
    assert store.status("api")["sync"] == "OutOfSync"  # type: ignore[index]


def test_history_ids_increase_and_only_the_newest_entries_are_kept(store: Store) -> None:
    ids = [store.append_history("api", {"revision": f"r{i}"}, limit=3) for i in range(5)]
    assert ids == [1, 2, 3, 4, 5]
    history = store.history("api")
    assert [h["id"] for h in history] == [3, 4, 5]
    assert [h["revision"] for h in history] == ["r2", "r3", "r4"]


def test_two_concurrent_claimers_never_claim_the_same_due_app(store: Store) -> None:
    for i in range(300):
        store.schedule_poll(f"app-{i}", at=100.0)
    claimed: list[list[str]] = []
    barrier = threading.Barrier(2)

    def claim() -> None:
        barrier.wait()
        got: list[str] = []
        while batch := store.claim_due_polls(now=150.0, default_interval=180, limit=10):
            got.extend(batch)
        claimed.append(got)

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = claimed[0] + claimed[1]
    assert len(everything) == 300
    assert len(set(everything)) == 300


def test_claimed_app_is_rescheduled_at_its_own_interval_with_bounded_jitter(store: Store) -> None:
    store.schedule_poll("fast", at=0.0, interval=10)
    store.schedule_poll("default", at=0.0)
    assert sorted(store.claim_due_polls(now=1000.0, default_interval=180, jitter=0.1)) == ["default", "fast"]
    fast, default = store.next_poll("fast"), store.next_poll("default")
    assert fast is not None and 1010.0 <= fast <= 1011.0
    assert default is not None and 1180.0 <= default <= 1198.0
    assert store.claim_due_polls(now=1000.0, default_interval=180) == []


def test_render_cache_round_trips_objects(store: Store) -> None:
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v" * 500}}]
    assert store.cached_render("key") is None
    store.cache_render("key", objects)
    assert store.cached_render("key") == objects


def test_pending_sync_is_taken_once(store: Store) -> None:
    store.remember_pending_sync("api", {"revision": "abc"})
    store.remember_pending_sync("api", {"revision": "def"})
    assert store.take_pending_sync("api") == {"revision": "def"}
    assert store.take_pending_sync("api") is None


def test_operation_advances_from_a_step_only_once(store: Store) -> None:
    store.put_operation("op-1", {"step": 0}, ttl_seconds=60)
    assert store.advance_operation("op-1", 0, {"step": 1})
    assert not store.advance_operation("op-1", 0, {"step": 1, "dup": True})
    assert store.operation("op-1") == {"step": 1}


def test_deleting_an_app_forgets_all_its_state(store: Store) -> None:
    store.put_app("api", {"kind": "Application"}, parent="root")
    store.write_status("api", {"sync": "Synced"})
    store.append_history("api", {"revision": "r"}, limit=10)
    store.schedule_poll("api", at=1.0)
    assert store.children_of("root") == ["api"]
    assert store.delete_app("api")
    assert store.app_manifest("api") is None
    assert store.status("api") is None
    assert store.history("api") == []
    assert store.next_poll("api") is None
    assert store.children_of("root") == []


def test_a_parent_claims_only_what_it_registered_or_nobody_did(store: Store) -> None:
    from reconciler.state.registry import OwnedElsewhere

    assert store.claim_app("web", {"v": 1}, parent="root") is True  # new
    assert store.claim_app("web", {"v": 2}, parent="root") is False  # its own: updated
    assert store.app_manifest("web") == {"v": 2} and store.app_owner("web") == "parent:root"
    with pytest.raises(OwnedElsewhere) as other:
        store.claim_app("web", {"v": 3}, parent="intruder")
    assert other.value.owner == "parent:root" and store.app_manifest("web") == {"v": 2}
    store.put_app("web", {"v": 4}, owner="api")  # an admin takes it over
    assert store.children_of("root") == [] and store.parent_of("web") is None
    with pytest.raises(OwnedElsewhere, match="registered by api"):
        store.claim_app("web", {"v": 5}, parent="root")
    store.r.hset("rc:apps", "legacy", "{}")  # registered before owners were recorded
    with pytest.raises(OwnedElsewhere) as legacy:
        store.claim_app("legacy", {"v": 1}, parent="root")
    assert legacy.value.owner == ""
    assert store.claim_project("team-x", {"v": 1}, parent="root") is True
    with pytest.raises(OwnedElsewhere):
        store.claim_project("team-x", {"v": 2}, parent="intruder")
    assert store.project_owner("team-x") == "parent:root"
    assert store.registrations(["web", "legacy", "never"], ["team-x", "other"]) == (
        {"web": "api", "legacy": "", "never": None}, {"team-x": "parent:root", "other": None}
    )


def test_pending_sync_behind_an_expired_lock_is_taken_once(store: Store) -> None:
    store.remember_pending_sync("orphan", {"app": "orphan"})
    store.remember_pending_sync("waiting", {"app": "waiting"})
    assert store.acquire_lock("waiting", "live-op", ttl_seconds=30)  # its operation is alive
    assert store.take_orphaned_pending_syncs() == [{"app": "orphan"}]
    assert store.take_orphaned_pending_syncs() == []
    assert store.take_pending_sync("waiting") == {"app": "waiting"}


def test_a_task_start_is_counted_with_its_expiry_the_first_time_and_after(store: Store) -> None:
    assert store.count_start("task-1", ttl_seconds=60) == 1  # one SET NX: the count and its expiry
    assert 0 < store.r.ttl(Keys.deliveries("task-1")) <= 60
    assert store.count_start("task-1", ttl_seconds=60) == 2  # a redelivery
    assert store.count_start("task-1", ttl_seconds=60) == 3
    assert 0 < store.r.ttl(Keys.deliveries("task-1")) <= 60
    store.forget_starts("task-1")
    assert store.count_start("task-1", ttl_seconds=60) == 1


def _apply_one_by_one(r: object, ops: list[tuple[str, ...]]) -> None:
    for op in ops:
        name, key, *rest = op
        getattr(r, name)(key, *rest) if name != "del" else r.delete(key)  # type: ignore[attr-defined]


def _dump(r: object, keys: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key in keys:
        kind = r.type(key)  # type: ignore[attr-defined]
        out[key] = r.hgetall(key) if kind == "hash" else r.smembers(key) if kind == "set" else None  # type: ignore[attr-defined]
    return out


def test_live_index_writes_folded_into_one_command_per_key_leave_what_one_by_one_would(store: Store) -> None:
    import random

    rng = random.Random(7)
    token = store.acquire_watch_lease("c1", "me", 60)
    assert token is not None
    hashes, sets = ["rc:test:h1", "rc:test:h2"], ["rc:test:s1"]
    for trial in range(40):
        ops: list[tuple[str, ...]] = []
        for _ in range(rng.randint(1, 60)):
            field = f"f{rng.randint(0, 5)}"
            ops.append(rng.choice([
                ("hset", rng.choice(hashes), field, f"v{rng.randint(0, 9)}"),
                ("hdel", rng.choice(hashes), field),
                ("sadd", sets[0], field),
                ("srem", sets[0], field),
                ("del", rng.choice(hashes + sets)),
            ]))
        store.r.delete(*hashes, *sets)
        _apply_one_by_one(store.r, ops)
        expected = _dump(store.r, hashes + sets)
        store.r.delete(*hashes, *sets)
        commands_before = store.r.info("commandstats").get("cmdstat_hset", {}).get("calls", 0)
        assert store.write_live("c1", token, ops)
        assert _dump(store.r, hashes + sets) == expected, (trial, ops)
        hsets = store.r.info("commandstats").get("cmdstat_hset", {}).get("calls", 0) - commands_before
        assert hsets <= len(hashes), ops  # one HSET per key, however many fields
    assert not store.write_live("c1", "not-the-token", [("hset", hashes[0], "f", "v")])  # fenced
    assert store.r.hget(hashes[0], "f") is None
