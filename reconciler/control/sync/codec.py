"""How an operation is kept in Redis: versioned JSON.

    to_record(op) -> dict          {"version": 2, ...the operation's camelCase JSON}
    from_record(dict) -> Operation raises UnreadableOperation naming the version it cannot read

Version 1 (no `version` key) is what releases before the typed operation wrote: plain dicts
with the same keys, where an `apply` step with `hooks` created hooks and a prune the plan
skipped had no status. An operation in flight across an upgrade is read and carries on.
A version this release does not know (written by a newer one) is refused by name, never
guessed at.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from reconciler.control.sync.operation import Operation, StepKind
from reconciler.core.errors import InputError
from reconciler.model.operation import HookType, ResultCode

OPERATION_VERSION = 2
READABLE_VERSIONS = (1, 2)


class UnreadableOperation(InputError, ValueError):
    """A stored operation this release cannot read; the message says which and why."""


def to_record(op: Operation) -> dict[str, Any]:
    return {"version": OPERATION_VERSION, **op.to_json()}


def from_record(data: dict[str, Any]) -> Operation:
    version = data.get("version", 1)
    if version not in READABLE_VERSIONS:
        raise UnreadableOperation(
            f"operation {data.get('id', '?')!r} was stored in version {version!r}, which this release cannot "
            f"read (it reads {', '.join(map(str, READABLE_VERSIONS))}): it was started by a newer release; "
            "let that release finish it, or sync again"
        )
    if version == 1:
        data = _from_version_1(data)
    try:
        return Operation.model_validate(data)
    except ValidationError as exc:
        raise UnreadableOperation(
            f"operation {data.get('id', '?')!r} (version {version}) is not valid: {_first_error(exc)}; sync again"
        ) from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}"


def _from_version_1(data: dict[str, Any]) -> dict[str, Any]:
    upgraded = dict(data)
    upgraded["steps"] = [_step_from_version_1(step) for step in data.get("steps") or []]
    upgraded["syncFailSteps"] = [_step_from_version_1(step) for step in data.get("syncFailSteps") or []]
    upgraded["skipped"] = [{"status": ResultCode.PRUNE_SKIPPED, **entry} for entry in data.get("skipped") or []]
    return upgraded


def _step_from_version_1(step: dict[str, Any]) -> dict[str, Any]:
    """Version 1 created hooks in an `apply` step with no objects and a `hooks` list."""
    if step.get("type") == StepKind.APPLY and step.get("hooks"):
        return {
            "type": StepKind.HOOKS,
            "phase": step.get("phase") or HookType.SYNC,
            "wave": step.get("wave"),
            "hooks": step["hooks"],
            "attempts": step.get("attempts", 0),
        }
    return {key: value for key, value in step.items() if not (key == "hooks" and step.get("type") == "apply")}
