"""A watcher (reconciler/live) running in this process beside the `system` fixture's workers."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from reconciler.live.process import WatcherProcess, celery_enqueue
from tests.integration.conftest import System

TEST_LEASE_TTL = 3.0


@dataclasses.dataclass
class RunningWatcher:
    process: WatcherProcess
    stop: threading.Event
    thread: threading.Thread

    def cluster_watcher(self) -> Any:
        return next(iter(self.process.watchers.values()), None)


def start_watcher(system: System, **overrides: Any) -> RunningWatcher:
    settings = dataclasses.replace(
        system.app.conf.reconciler_settings,
        kubeconfig=str(system.kubeconfig),
        watch_lease_ttl=TEST_LEASE_TTL,
        watch_debounce=0.5,
        **overrides,
    )
    process = WatcherProcess(settings, system.store, celery_enqueue(system.store, system.app.send_task))
    stop = threading.Event()
    thread = threading.Thread(target=process.run, args=(stop,), daemon=True)
    thread.start()
    return RunningWatcher(process, stop, thread)
