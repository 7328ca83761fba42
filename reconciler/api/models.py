"""Request and response shapes of the REST API, for validation and the OpenAPI document.

Responses are the dicts of reconciler.control.user_actions (what `reconciler app ... -o json` prints);
the models describe them and allow extra fields, so a field added there is not lost here. An
operation, its phases, results and hooks, and a delete's result are the typed models of
reconciler/control/sync/operation.py themselves (same JSON keys).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reconciler.control.sync.operation import OperationState, Teardown
from reconciler.model.operation import OperationPhase


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    error: str = Field(description="what was wrong and what to do")
    problems: list[str] = Field(default_factory=list, description="each problem found, when there are several")


# The answers every authenticated route may give, for the OpenAPI document.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no valid bearer token or session"},
    403: {"model": ErrorBody, "description": "the RBAC policy does not allow this caller the action (named)"},
}
# A request body of manifests: YAML documents or JSON (what `app create -f` and `kubectl` send).
MANIFESTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string", "description": "one or more YAML documents"}},
            "application/json": {"schema": {"type": "object", "description": "a manifest, or a list"}},
        },
    }
}


class LastSync(_Open):
    phase: OperationPhase | Literal[""] = Field("", description='"" before the first sync')
    finishedAt: float | None = None
    message: str = ""


class AppSummary(_Open):
    name: str
    project: str = ""
    repoURL: str = ""
    path: str = ""
    targetRevision: str = ""
    sync: str = Field("Unknown", description="Synced | OutOfSync | Unknown")
    revision: str = Field("", description="the commit the last poll compared against")
    health: str = Field("Unknown", description="Healthy | Progressing | Degraded | Suspended | Missing | Unknown")
    syncedRevision: str = ""
    lastSync: LastSync | None = None
    automated: bool = False
    parent: str = ""
    owner: str = Field("", description="who registered it: api, cli or parent:<app> (empty: not recorded)")


class AppDetail(AppSummary):
    manifest: dict[str, Any] = Field(default_factory=dict)
    resources: list[dict[str, Any]] = Field(default_factory=list, description="each resource's sync, health, diff")
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    operation: OperationState | None = Field(None, description="the latest sync operation, its results and hooks")
    history: list[dict[str, Any]] = Field(default_factory=list)
    children: list[str] = Field(default_factory=list)
    observedAt: float | None = None
    liveState: str | None = Field(
        None, description='where the last poll read live objects: "watch", or "list: <why not the watch>"'
    )
    notifications: dict[str, Any] = Field(
        default_factory=dict,
        description="Argo CD Notifications: `deliveries` (last ones, sent or given up), `failures`, `pending` "
        "(being retried), `problems` (subscriptions the configuration cannot honour)",
    )


class CreateResult(_Open):
    applications: list[str] = Field(description="applications written (new or updated)")
    projects: list[str] = Field(default_factory=list, description="AppProjects written")
    created: list[str] = Field(default_factory=list, description="applications that did not exist before")


class AppStatus(_Open):
    """The app's status as its last poll stored it (what `GET .../diff` returns)."""

    name: str = ""
    sync: dict[str, Any] = Field(default_factory=dict)
    health: dict[str, Any] = Field(default_factory=dict)
    resources: list[dict[str, Any]] = Field(default_factory=list, description="with `diff` per resource")
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    observedAt: float | None = None


class SyncResource(BaseModel):
    """One resource of a selective sync, as Argo CD's SyncOperationResource names it."""

    model_config = ConfigDict(extra="forbid")

    group: str = ""
    kind: str = Field(min_length=1)
    namespace: str = ""
    name: str = Field(min_length=1)

    def inventory_id(self) -> str:
        for field, value in (("group", self.group), ("kind", self.kind), ("namespace", self.namespace),
                             ("name", self.name)):
            if "/" in value:
                raise ValueError(f"resource {field} {value!r} contains '/': name one object per entry")
        return f"{self.group}/{self.kind}/{self.namespace}/{self.name}"


class SyncBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    revision: str = Field("", description="commit, branch or tag; empty: spec.source.targetRevision")
    prune: bool = Field(False, description="delete resources Git no longer holds")
    dryRun: bool = Field(False, description="answer with the plan and change nothing")
    resources: list[str | SyncResource] = Field(
        default_factory=list,
        description="selective sync: each resource as `group/kind/namespace/name` or, as Argo CD's API sends it, "
        '{"group", "kind", "namespace", "name"}')

    def resource_ids(self) -> list[str]:
        """The chosen resources as `group/kind/namespace/name`, whichever form each was sent in."""
        return [r if isinstance(r, str) else r.inventory_id() for r in self.resources]


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: int = Field(description="history entry id (see GET /api/v1/applications/{name})")
    prune: bool = False


class Queued(_Open):
    queued: bool
    request: dict[str, Any] = Field(description="the sync request handed to the workers")


class SyncPlanBody(_Open):
    name: str
    dryRun: bool = True
    revision: str
    prune: bool
    sync: str
    refused: str | None = Field(None, description="set: a real sync would refuse to run, and why")
    namespaceToCreate: str | None = None
    waves: list[dict[str, Any]] = Field(description="per wave: resources to apply, then to prune, in order")
    hooks: list[dict[str, Any]] = Field(default_factory=list, description="hooks a sync would run, by phase and wave")
    pruneSkipped: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    resources: list[dict[str, Any]] = Field(default_factory=list, description="out-of-sync resources and diffs")


class ActionDone(_Open):
    application: str
    message: str
    operation: str = Field(default="", description="the operation asked to stop (terminate-op)")


class Deleted(Teardown):
    """What a delete did (control/sync/operation.py `Teardown`), with the app's name."""

    deleted: str = Field(description="the application, no longer registered")
    failed: tuple[str, ...] = Field(default=(), exclude=True)  # a failed delete answers 409 instead


class DeleteDeferred(_Open):
    deleting: str = Field(description="the application, deleted once its running sync ends")
    message: str


class WebhookAccepted(BaseModel):
    queued: list[str] = Field(description="applications whose refresh was queued (or already waiting)")
    ignored: int = Field(description="registered applications this push does not concern")
    applicationSets: list[str] = Field(default_factory=list, description="ApplicationSets whose generation was queued")
    preview: str | None = Field(None, description="a pull-request event: the id of the preview it queued")
    previewSkipped: str | None = Field(None, description="a pull-request event that queued no preview: why")


class WebhookDuplicate(BaseModel):
    duplicate: bool = Field(True, description="this delivery was handled before (a replay): nothing was done")
    provider: str
    delivery: str = Field(description="the delivery id from the provider's header")
    queued: list[str] = Field(default_factory=list, description="always empty")


class Ping(BaseModel):
    ping: bool = True
    provider: str
