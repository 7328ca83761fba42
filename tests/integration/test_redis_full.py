"""A full Redis (maxmemory with noeviction, as the chart and compose run it): writes are refused
with an error, never silently dropped, the refusals show in /metrics, and writes work again
once there is room."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from reconciler.metrics import render
from reconciler.state import Store
from reconciler.state.redis_server import RedisProcess


def test_a_full_redis_refuses_writes_reports_them_and_recovers_when_space_returns(tmp_path: Path) -> None:
    with RedisProcess(tmp_path / "redis", persistent=True) as server:
        store = Store.from_url(server.url)
        store.r.config_set("maxmemory-policy", "noeviction")
        store.put_app("kept", {"spec": {"project": "default"}})
        used = int(store.r.info("memory")["used_memory"])
        store.r.config_set("maxmemory", used - 1024)  # full: below what it already holds

        with pytest.raises(redis.ResponseError, match="maxmemory"):
            store.put_app("refused", {"spec": {"project": "default"}})
        assert store.app_names() == ["kept"]  # nothing evicted, nothing half-written

        metrics = render(store)[0].decode()
        values = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line and not line.startswith("#"))
        # Every command of the refused write (the registry's HSET and the list's event) counts.
        refused = store.r.info("errorstats")["errorstat_OOM"]["count"]
        assert refused >= 1
        assert float(values['reconciler_redis_rejected_commands_total{error="OOM"}']) == refused
        assert float(values["reconciler_redis_maxmemory_bytes"]) == used - 1024

        store.r.config_set("maxmemory", 0)  # room again
        store.put_app("refused", {"spec": {"project": "default"}})
        assert store.app_names() == ["kept", "refused"]
        store.r.close()
