"""Watcher HA (issue 14): two `reconciler watch` processes, one holding the cluster's lease.
SIGKILL the holder mid-stream and change a tracked object while nobody watches: the other
takes over within the lease TTL, relists, polls every app once, and the change is healed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.control.catalog import register
from reconciler.engine.cluster import Cluster
from reconciler.live.records import cluster_id
from reconciler.model import parse_manifests
from tests.integration.conftest import System
from tests.integration.test_live_watch import FILES, application, mode, synced_from_watch

LEASE_TTL = "2"


@pytest.fixture
def two_watchers(system: System) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {**os.environ, "KUBECONFIG": str(system.kubeconfig), "RECONCILER_WATCH_LEASE_TTL": LEASE_TTL}
    procs = [
        subprocess.Popen([sys.executable, "-m", "reconciler.cli", "watch", "--loglevel", "WARNING"], env=env)
        for _ in range(2)
    ]
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        proc.wait(timeout=20)


def holder_pid(system: System) -> int | None:
    token = system.store.watch_lease_holder(cluster_id(system.cluster.server))
    if not token:
        return None
    return int(token.split(":", 1)[1].split("-")[-2])  # token = fence:host-pid-random


@pytest.mark.timeout(120)
def test_killed_watcher_is_replaced_and_a_change_in_the_gap_is_healed(
    system: System, git_repo_factory: Any, two_watchers: list[subprocess.Popen[bytes]]
) -> None:
    register(system.store, parse_manifests(application(git_repo_factory(FILES, name="live-config"))), first_poll_in=0)
    system.wait_for(lambda: synced_from_watch(system), timeout=60, what="Synced from the watch")
    ours = {p.pid for p in two_watchers}
    # The lease of one of these two (a loaded machine may start one late; no other holder counts).
    first = system.wait_for(lambda: (pid := holder_pid(system)) in ours and pid, timeout=60,
                            what="one of the two watchers holding the lease")

    os.kill(first, signal.SIGKILL)
    Cluster(system.cluster.api_client, field_manager="kubectl-edit").apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "data": {"mode": "edited-while-unwatched"},
         "metadata": {"name": "live-settings", "namespace": "default"}})

    second = system.wait_for(lambda: (pid := holder_pid(system)) in ours - {first} and pid, timeout=60,
                             what="the other watcher holding the lease")
    assert second != first
    system.wait_for(lambda: mode(system) == "blue", timeout=60, what="the change made in the gap healed")
