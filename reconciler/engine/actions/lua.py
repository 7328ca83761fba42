"""Run action discovery and action scripts in the Lua sandbox, with Argo CD's contract
(`util/lua` ExecuteResourceActionDiscovery and ExecuteResourceAction):

- the live object is `obj`, the caller's parameters are `actionParams` (name -> string);
- discovery returns a table `name -> {disabled, iconClass, displayName, params}` (`{}` or a
  list for an action without options);
- an action returns the changed object (a patch of it), or a list of
  `{operation = "create" | "patch", resource = ...}` (create-job creates a Job).

A table becomes JSON as gopher-json encodes it: keys 1..n a list, string keys a map, an empty
table an empty list (the clean-up in patch.py turns it back into a map where the live object
had one). Scripts run in a sandbox process under the health checks' limits; anything that
goes wrong is an ActionError naming the script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lupa import lua54

from reconciler.core.sandbox import JobFailed, LimitExceeded, run_untrusted
from reconciler.engine.actions.catalog import ActionError, ActionScripts
from reconciler.engine.actions.patch import clean_returned
from reconciler.engine.health.rules.lua_runtime import SANDBOX_LIMITS, LuaCheckError, LuaScript, runtime

MAX_DEPTH = 64
MAX_NODES = 200_000
OPERATIONS = ("create", "patch")


@dataclass(frozen=True)
class ResourceAction:
    name: str
    disabled: bool = False
    icon_class: str = ""
    display_name: str = ""
    params: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "disabled": self.disabled}
        if self.icon_class:
            body["iconClass"] = self.icon_class
        if self.display_name:
            body["displayName"] = self.display_name
        if self.params:
            body["params"] = list(self.params)
        return body


@dataclass(frozen=True)
class Impacted:
    operation: str  # create | patch
    resource: dict[str, Any]


class _Converter:
    """A Lua value as JSON data, bounded in depth and size (a script may build cycles)."""

    def __init__(self) -> None:
        self.nodes = 0

    def __call__(self, value: Any, depth: int = 0) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise ActionError(f"the script's result is nested deeper than {MAX_DEPTH} or larger than {MAX_NODES} "
                              "values")
        if lua54.lua_type(value) != "table":
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if value is None or isinstance(value, bool | int | float | str):
                return value
            raise ActionError(f"the script's result holds a {lua54.lua_type(value) or type(value).__name__}, "
                              "which JSON cannot hold")
        items = list(value.items())
        if not items:
            return []
        keys = [k for k, _ in items]
        if all(isinstance(k, int) and not isinstance(k, bool) for k in keys) and sorted(keys) == list(
                range(1, len(keys) + 1)):
            return [self(v, depth + 1) for _, v in sorted(items, key=lambda kv: kv[0])]
        if all(isinstance(k, str) for k in keys):
            return {k: self(v, depth + 1) for k, v in items}
        raise ActionError("the script's result mixes list and map keys in one table, which JSON cannot hold")


def evaluate(source: str, origin: str, obj: Mapping[str, Any], params: Mapping[str, str]) -> list[Any]:
    """In the sandbox process: [True, result as JSON data] or [False, error message]."""
    try:
        ok, result = runtime().execute(LuaScript(source, origin), obj, whole=True, params=params,
                                       convert=_Converter())
    except LuaCheckError as error:
        return [False, f"{origin} does not compile: {error}"]
    except ActionError as error:
        return [False, f"{origin}: {error}"]
    except Exception as error:  # lupa conversion errors and the like
        return [False, f"{origin} failed: {type(error).__name__}: {error}"]
    return [bool(ok), result if ok else str(result)]


def _evaluate(script: LuaScript, obj: Mapping[str, Any], params: Mapping[str, str]) -> Any:
    try:
        ok, result = run_untrusted(evaluate, (script.source, script.origin, dict(obj), dict(params)),
                                   SANDBOX_LIMITS)
    except LimitExceeded as breach:
        raise ActionError(f"{script.origin} stopped: it {SANDBOX_LIMITS.describe(breach.limit)}") from None
    except JobFailed as error:
        raise ActionError(f"{script.origin} failed: {error}") from None
    if not ok:
        raise ActionError(str(result) if str(result).startswith(script.origin) else f"{script.origin}: {result}")
    return result


def discover(scripts: ActionScripts, obj: Mapping[str, Any]) -> list[ResourceAction]:
    """The actions the discovery scripts offer for `obj`, sorted by name (a later script's
    entry for a name wins)."""
    found: dict[str, ResourceAction] = {}
    for script in scripts.discoveries:
        result = _evaluate(script, obj, {})
        if result == []:
            continue
        if not isinstance(result, dict):
            raise ActionError(f"{script.origin}: expected a table of actions by name")
        for name, value in result.items():
            found[name] = _action(name, value)
    return sorted(found.values(), key=lambda a: a.name)


def _action(name: str, value: Any) -> ResourceAction:
    if not isinstance(value, dict):  # {} or a list: an action with nothing to say
        return ResourceAction(name)
    disabled = value.get("disabled")
    params = value.get("params")
    return ResourceAction(
        name=name, disabled=disabled if isinstance(disabled, bool) else False,
        icon_class=str(value.get("iconClass") or ""), display_name=str(value.get("displayName") or ""),
        params=tuple(p for p in params if isinstance(p, dict)) if isinstance(params, list) else (),
    )


def run(scripts: ActionScripts, name: str, obj: dict[str, Any], params: Mapping[str, str]) -> list[Impacted]:
    """What action `name` does to `obj`: the objects to patch or create."""
    script = scripts.actions.get(name)
    if script is None:
        known = ", ".join(sorted(scripts.actions)) or "none"
        raise ActionError(f"{obj.get('kind')} has no action {name!r} (its actions: {known})")
    result = _evaluate(script, obj, params)
    if isinstance(result, dict):
        return [Impacted("patch", clean_returned(result, obj))]
    if not isinstance(result, list):
        raise ActionError(f"{script.origin}: expected the changed object or a list of impacted resources")
    impacted = []
    for index, item in enumerate(result):
        if not isinstance(item, dict) or not isinstance(item.get("resource"), dict):
            raise ActionError(f"{script.origin}: impacted resource {index + 1} needs `resource`, an object")
        operation = item.get("operation")
        if operation not in OPERATIONS:
            raise ActionError(f"{script.origin}: unsupported operation {operation!r} (create or patch)")
        resource = item["resource"]
        impacted.append(Impacted(str(operation), clean_returned(resource, obj) if operation == "patch" else resource))
    return impacted
