"""What every step runner gets and gives back.

    runner(ctx: StepContext, step) -> Outcome

A runner reads the operation and the cluster, writes to the cluster, and says what changed;
it never writes the operation itself (the drive does, by compare-and-set). The context hands
it the store only as the narrow slices of ports.py it may use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.control.requests import Next
from reconciler.control.sync.operation import HookRecord, Operation, ResourceResult, Step, Teardown
from reconciler.control.sync.ports import Deletions, Inventory, PruneConfirmations
from reconciler.engine.cluster import Cluster
from reconciler.model import Application
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.services import Services


@dataclass(frozen=True)
class StepContext:
    app: Application
    cluster: Cluster
    op: Operation
    index: int  # the step's position in op.steps
    settings: Settings
    inventory: Inventory
    confirmations: PruneConfirmations
    deletions: Deletions
    services: Services  # only for what takes all of them (registering child apps)


@dataclass(frozen=True)
class Outcome:
    results: tuple[ResourceResult, ...] = ()
    failed: str = ""  # the operation fails with this message
    wait: float | None = None  # run this step again after this many seconds
    step: Step | None = None  # the step as it must be stored (its wait state)
    hooks: Mapping[int, HookRecord] = field(default_factory=dict)  # hook records that changed
    teardown: Teardown | None = None  # an app delete's result, updated
    message: str = ""
    follow: tuple[Next, ...] = ()  # other tasks to queue (child apps' deletes)
