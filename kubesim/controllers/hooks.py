"""The controller hook: after every persisted write, controllers get the stored object on a thread of their own.

`KubeSim(controllers=True)` looks in `kubesim.controllers.runner` (owned by the controllers
engineer) for, in this order:
  * `build_controllers(api: SimAPI, ready_delay: float) -> list[Controller]`: each
    controller's `handle(api, event_type, obj)` is called for every ADDED / MODIFIED /
    DELETED change, in commit order, on one background thread;
  * `start_controllers(sim: KubeSim) -> object with stop()`: for controllers that run
    their own loop.
Without such a module `controllers=True` is a no-op.
"""

from __future__ import annotations

import importlib
import queue
import sys
import threading
import traceback
from typing import TYPE_CHECKING, Any, Protocol

from kubesim.storage.store import Event, Obj

if TYPE_CHECKING:
    from kubesim.api import SimAPI


class Controller(Protocol):
    def handle(self, api: SimAPI, event_type: str, obj: Obj) -> None:
        """React to one change of `obj` (the stored object: never mutate it, write a changed copy)."""


class ControllerRunner:
    """Feeds store events to controllers on their own thread, so API requests never wait for them."""

    def __init__(self, api: SimAPI, controllers: list[Controller]) -> None:
        self.api = api
        self.controllers = controllers
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="kubesim-controllers", daemon=True)

    def start(self) -> None:
        self.api.store.listeners.append(self._queue.put)
        self._thread.start()

    def stop(self) -> None:
        if self._queue.put in self.api.store.listeners:
            self.api.store.listeners.remove(self._queue.put)
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            for controller in self.controllers:
                try:
                    controller.handle(self.api, event.type, event.obj)
                except Exception:  # one failing controller must not stop the others
                    traceback.print_exc(file=sys.stderr)


def start_controllers(sim: Any) -> Any | None:
    """Start whatever `kubesim.controllers.runner` provides; returns a handle with stop(), or None."""
    try:
        module = importlib.import_module("kubesim.controllers.runner")
    except ImportError:
        return None
    if hasattr(module, "build_controllers"):
        runner = ControllerRunner(sim.api, list(module.build_controllers(sim.api, sim.ready_delay)))
        runner.start()
        return runner
    if hasattr(module, "start_controllers"):
        return module.start_controllers(sim)
    return None
