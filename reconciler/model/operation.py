"""The vocabulary of sync operations, spelled as Argo CD's Application status spells it.

    OperationPhase  an operation's phase (Argo CD's `OperationPhase`, gitops-engine `common`)
    ResultCode      what a sync did to one resource (gitops-engine's `ResultCode`)
    HookPhase       where one hook of an operation is (Pending until created, then as the operation)
    HookType        when a hook runs (the values of `argocd.argoproj.io/hook`)

Each is a `StrEnum`: a value is its string, so JSON, Redis and comparisons with the strings
other tools write (`"Succeeded"`) are unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class OperationPhase(StrEnum):
    RUNNING = "Running"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    ERROR = "Error"
    SUCCEEDED = "Succeeded"

    @property
    def completed(self) -> bool:
        return self not in (OperationPhase.RUNNING, OperationPhase.TERMINATING)


ENDED_PHASES = frozenset({OperationPhase.SUCCEEDED, OperationPhase.FAILED, OperationPhase.ERROR})


class ResultCode(StrEnum):
    SYNCED = "Synced"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"
    # Ours: a delete the server refused, or one that would take objects the app does not own
    # with it (gitops-engine reports a failed prune as SyncFailed; the message says which).
    PRUNE_FAILED = "PruneFailed"


class HookPhase(StrEnum):
    PENDING = "Pending"  # not created yet
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def completed(self) -> bool:
        return self in (HookPhase.SUCCEEDED, HookPhase.FAILED)


class HookType(StrEnum):
    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    PRE_DELETE = "PreDelete"
    POST_DELETE = "PostDelete"
    SKIP = "Skip"
