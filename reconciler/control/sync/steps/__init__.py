"""One module per step kind; RUNNERS maps each StepKind to its runner.

A new step kind: its model in operation.py (a `type` literal, added to `Step`), its runner
here (`runner(ctx, step) -> Outcome`, steps/base.py), its place in compile.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.control.sync.operation import StepKind
from reconciler.control.sync.steps.apply import run_apply
from reconciler.control.sync.steps.base import Outcome, StepContext
from reconciler.control.sync.steps.create_hooks import run_hooks
from reconciler.control.sync.steps.delete import run_delete_children, run_delete_resources, run_deregister
from reconciler.control.sync.steps.finish import run_finish
from reconciler.control.sync.steps.health import run_health
from reconciler.control.sync.steps.prune import run_prune, run_pruned

RUNNERS: dict[StepKind, Callable[[StepContext, Any], Outcome]] = {
    StepKind.APPLY: run_apply,
    StepKind.HOOKS: run_hooks,
    StepKind.HEALTH: run_health,
    StepKind.PRUNE: run_prune,
    StepKind.PRUNED: run_pruned,
    StepKind.FINISH: run_finish,
    StepKind.DELETE_CHILDREN: run_delete_children,
    StepKind.DELETE_RESOURCES: run_delete_resources,
    StepKind.DEREGISTER: run_deregister,
}

# The step after which an operation ends (end.py), per kind of operation.
ENDING_KINDS = frozenset({StepKind.FINISH, StepKind.DEREGISTER})
