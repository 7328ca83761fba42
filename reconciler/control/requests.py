"""A request to sync an application, and what the task layer must enqueue next.

Both are plain data so they cross process boundaries as JSON (Celery arguments, Redis).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

TRIGGERS = ("auto", "selfheal", "user", "rollback", "retry")


@dataclass(frozen=True)
class SyncRequest:
    app: str
    revision: str = ""  # "" resolves the app's targetRevision when the sync starts
    prune: bool | None = None  # None: an automated sync, pruning as syncPolicy.automated says
    resources: tuple[str, ...] = ()  # selective sync: str(ResourceKey) of each resource
    trigger: str = "user"
    retry_count: int = 0
    retry_of: str = ""  # the operation this request retries; dropped if another ran since
    source: dict[str, Any] | None = None  # rollback: the spec.source recorded in history
    rollback_id: int | None = None
    urgent: bool = False  # a push webhook or a person is waiting: use the urgent queue
    requested_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["resources"] = list(self.resources)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncRequest:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["resources"] = tuple(known.get("resources") or ())
        return cls(**known)


@dataclass(frozen=True)
class Next:
    """One task the task layer must enqueue: `poll`, `sync`, `apply` or `prune`."""

    task: str
    args: tuple[Any, ...]
    countdown: float = 0.0
    urgent: bool = False
