"""The typed operation: one sync or app delete, step by step, as it is kept in Redis.

    Operation       one operation: its steps, the step it is at, what it did so far
    Step            one of the step kinds below; its `type` says which (StepKind)
    HookRecord      one hook of the operation: what users see of it (HookView) and its manifest
    ResourceResult  what a step did to one resource: a ResultCode and the server's message
    OperationState  the app's latest sync as users see it (`app get`, the REST API, the dashboard)
    DeleteRequest, Teardown   what an app delete is asked to do, and what it did

Every model is frozen: a step returns what changed (steps/base.py `Outcome`) and the drive
writes a new operation by compare-and-set. Field names are snake_case here and camelCase in
JSON (`startedAt`), the keys Redis and the REST API have always had. How an operation is
stored, with its version, is codec.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from reconciler.control.requests import SyncRequest
from reconciler.model.operation import HookPhase, HookType, OperationPhase, ResultCode
from reconciler.model.resources import ResourceKey

JsonObj = dict[str, Any]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_json(self) -> JsonObj:
        return self.model_dump(mode="json", by_alias=True)


class OperationKind(StrEnum):
    SYNC = "sync"
    DELETE = "delete"  # `app delete --cascade`: delete hooks, child apps, resources, deregister


class StepKind(StrEnum):
    APPLY = "apply"  # write a chunk of one wave's objects
    HOOKS = "hooks"  # create the hooks of one phase and wave
    HEALTH = "health"  # wait: a wave's objects healthy, its CRDs served, its hooks completed
    PRUNE = "prune"  # delete one prune wave
    PRUNED = "pruned"  # wait: one prune wave's objects gone
    FINISH = "finish"  # child apps, then the sync ends
    DELETE_CHILDREN = "delete-children"  # an app delete: its child apps' deletes, awaited
    DELETE_RESOURCES = "delete-resources"  # an app delete: every object of its inventory
    DEREGISTER = "deregister"  # an app delete ends: the app is forgotten


class ObjectRef(Frozen):
    api_version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""

    @classmethod
    def of(cls, obj: JsonObj) -> ObjectRef:
        meta = obj.get("metadata") or {}
        return cls(
            api_version=str(obj.get("apiVersion", "")),
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name", "")),
        )


class ResourceResult(Frozen):
    resource: str
    status: ResultCode
    message: str = ""


class HookView(Frozen):
    """One hook of an operation as users see it."""

    id: int
    phase: HookType
    wave: int | None = None
    api_version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""  # the server's name once created (a generateName hook gets one then)
    generate_name: str = ""
    delete_policies: tuple[str, ...] = ()
    status: HookPhase = HookPhase.PENDING
    message: str = ""
    uid: str = ""
    deleted: bool = False

    def display(self) -> str:
        name = self.name or f"{self.generate_name}<generated>"
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{name}"


class HookRecord(HookView):
    """A hook as the operation keeps it: the public view, its manifest, and whether its
    delete policy was written on it (Argo CD deletes a delete hook without one once done)."""

    obj: JsonObj = Field(default_factory=dict)
    policy_given: bool = True

    def public(self) -> HookView:
        return HookView.model_validate(self.model_dump(exclude={"obj", "policy_given"}))

    def with_(self, **changes: Any) -> HookRecord:
        return self.model_copy(update=changes)


class _Step(Frozen):
    since: float | None = None  # when the step first had to wait
    attempts: int = 0  # how many times it waited

    def waited(self, **changes: Any) -> Any:
        """The step as it goes back to wait once more (since kept, attempts counted)."""
        return self.model_copy(update={"since": self.since or time.time(), "attempts": self.attempts + 1, **changes})

    def backoff(self, ceiling: float = 5.0, base: float = 0.5) -> float:
        """Seconds until the next look: a little longer each time, at most `ceiling`."""
        return min(base * (self.attempts + 1), ceiling)


class ApplyStep(_Step):
    type: Literal[StepKind.APPLY] = StepKind.APPLY
    wave: int | None = None
    objects: tuple[JsonObj, ...] = ()
    track: bool = True  # False: CreateNamespace's namespace, not the app's (no inventory, no options)


class HooksStep(_Step):
    type: Literal[StepKind.HOOKS] = StepKind.HOOKS
    phase: HookType = HookType.SYNC
    wave: int | None = None
    hooks: tuple[int, ...] = ()


class HealthStep(_Step):
    type: Literal[StepKind.HEALTH] = StepKind.HEALTH
    phase: HookType = HookType.SYNC
    wave: int | None = None
    refs: tuple[ObjectRef, ...] = ()
    hooks: tuple[int, ...] = ()
    every_hook: bool = False  # wait for every hook to complete (record each outcome), then report failures
    deadline: float | None = None  # wall-clock time the hooks must have completed by (app deletes)


class PruneTarget(Frozen):
    group: str
    kind: str
    namespace: str = ""
    name: str
    uid: str = ""  # the live object the plan saw: another object of that name is not deleted
    api_version: str = ""  # the live object's: its deletion is awaited after the inventory forgot it

    @property
    def key(self) -> ResourceKey:
        return ResourceKey(self.group, self.kind, self.namespace, self.name)

    @classmethod
    def of(cls, key: ResourceKey, live: Mapping[str, Any] | None = None) -> PruneTarget:
        live = live or {}
        return cls(
            group=key.group, kind=key.kind, namespace=key.namespace, name=key.name,
            uid=str((live.get("metadata") or {}).get("uid") or ""), api_version=str(live.get("apiVersion") or ""),
        )


class PruneStep(_Step):
    type: Literal[StepKind.PRUNE] = StepKind.PRUNE
    wave: int | None = None
    targets: tuple[PruneTarget, ...] = ()


class PrunedStep(_Step):
    type: Literal[StepKind.PRUNED] = StepKind.PRUNED
    wave: int | None = None
    targets: tuple[PruneTarget, ...] = ()


class FinishStep(_Step):
    type: Literal[StepKind.FINISH] = StepKind.FINISH


class DeleteChildrenStep(_Step):
    type: Literal[StepKind.DELETE_CHILDREN] = StepKind.DELETE_CHILDREN
    children: tuple[str, ...] = ()
    requested: bool = False  # their deletes were asked for; now they are awaited


class DeleteResourcesStep(_Step):
    type: Literal[StepKind.DELETE_RESOURCES] = StepKind.DELETE_RESOURCES


class DeregisterStep(_Step):
    type: Literal[StepKind.DEREGISTER] = StepKind.DEREGISTER


Step = Annotated[
    ApplyStep | HooksStep | HealthStep | PruneStep | PrunedStep | FinishStep
    | DeleteChildrenStep | DeleteResourcesStep | DeregisterStep,
    Field(discriminator="type"),
]


class DeleteRequest(Frozen):
    """`app delete NAME --cascade` as the API or CLI hands it to a worker."""

    app: str
    request_id: str  # the reply the caller waits for (state/replies.py); also the operation's id
    hook_timeout: float = 40.0  # PreDelete and PostDelete waits together, from the start
    requested_at: float = Field(default_factory=time.time)


class Teardown(Frozen):
    """What an app delete did, as the REST API answers it."""

    resources: tuple[str, ...] = ()  # the objects deleted
    skipped: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    post_delete_hooks: tuple[str, ...] = ()  # each PostDelete hook and its outcome
    pre_delete_hooks: tuple[str, ...] = ()  # each PreDelete hook and its outcome

    def add(self, **more: tuple[str, ...]) -> Teardown:
        return self.model_copy(update={name: (*getattr(self, name), *items) for name, items in more.items()})


class Operation(Frozen):
    id: str
    app: str = ""
    kind: OperationKind = OperationKind.SYNC
    request: JsonObj = Field(default_factory=dict)  # SyncRequest.to_dict() of a sync
    delete: DeleteRequest | None = None
    revision: str = ""
    source: JsonObj = Field(default_factory=dict)  # the spec.source history records
    marker: str = ""  # revision and source fingerprint: what a failed automated sync must not retry
    steps: tuple[Step, ...] = ()
    step: int = 0
    started_at: float = 0.0
    results: tuple[ResourceResult, ...] = ()
    skipped: tuple[ResourceResult, ...] = ()  # prunes the plan left out, and why
    children: tuple[JsonObj, ...] = ()  # Applications an app-of-apps renders
    prune_children: bool = False
    message: str = ""
    hooks: tuple[HookRecord, ...] = ()
    sync_fail_steps: tuple[Step, ...] = ()  # run when a step fails (once), then the sync ends Failed
    failure: str = ""  # why the sync failed, while its SyncFail hooks run
    confirm_prune: tuple[str, ...] = ()  # inventory ids of Prune=confirm targets
    chain_from: int | None = None  # the step whose task ran this one (resume_point)
    terminated: bool = False
    ended: OperationPhase | None = None  # set on the stub an ended operation leaves for redelivered steps
    teardown: Teardown = Field(default_factory=Teardown)  # an app delete's result so far
    due: bool = True  # False: a self-heal with nothing to apply, prune or run (not recorded in history)

    @property
    def sync_request(self) -> SyncRequest:
        return SyncRequest.from_dict(self.request) if self.request else SyncRequest(app=self.app)

    @property
    def current(self) -> Step:
        return self.steps[self.step]

    def with_(self, **changes: Any) -> Operation:
        return self.model_copy(update=changes)

    def with_step(self, index: int, step: Step) -> Operation:
        return self.with_(steps=(*self.steps[:index], step, *self.steps[index + 1 :]))

    def with_hooks(self, records: dict[int, HookRecord]) -> Operation:
        if not records:
            return self
        return self.with_(hooks=tuple(records.get(h.id, h) for h in self.hooks))


class OperationState(Frozen):
    """The app's latest sync operation as users see it; None fields are left out of its JSON."""

    id: str = ""
    phase: OperationPhase = OperationPhase.RUNNING
    message: str = ""
    trigger: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    revision: str = ""
    retry_count: int = 0
    next_retry_at: float | None = None
    resources: tuple[ResourceResult, ...] = ()
    hooks: tuple[HookView, ...] = ()

    def to_json(self) -> JsonObj:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def with_(self, **changes: Any) -> OperationState:
        return self.model_copy(update=changes)
