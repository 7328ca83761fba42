"""Where the action scripts of a kind come from, in Argo CD's order:

1. `resource.customizations.actions.<group>_<kind>` of the configured argocd-cm file
   (RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE): its discovery.lua and definitions; with
   `mergeBuiltinActions: true` the scripts below stay offered beside them;
2. the customizations directory (RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR):
   `<group>/<kind>/actions/discovery.lua` and `<group>/<kind>/actions/<name>/action.lua`;
3. the built-in actions Argo CD ships (builtin/ beside this file, same layout): Deployment,
   StatefulSet and DaemonSet `restart`, Deployment `pause`/`resume`/`scale`, StatefulSet
   `scale`, CronJob `create-job`/`suspend`/`resume`, Argo Rollouts `restart`/`resume`/`abort`/
   `retry`/`promote-full`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reconciler.core.errors import InputError
from reconciler.engine.health.rules.configured import Customizations
from reconciler.engine.health.rules.lua_directory import config_key
from reconciler.engine.health.rules.lua_runtime import LuaScript

BUILTIN = Path(__file__).resolve().parent / "builtin"
DISCOVERY = "discovery.lua"
ACTION = "action.lua"


class ActionError(InputError, ValueError):
    """An action that cannot be offered or run; the message says which and why."""


@dataclass(frozen=True)
class ActionScripts:
    """The discovery scripts of a kind (each offers some actions) and every action script by name."""

    discoveries: tuple[LuaScript, ...] = ()
    actions: dict[str, LuaScript] = field(default_factory=dict)


def _from_directory(root: Path, group: str, kind: str) -> ActionScripts | None:
    folder = root / config_key(group, kind) / "actions"
    discovery = folder / DISCOVERY
    if not discovery.is_file():
        return None
    try:
        scripts = {p.parent.name: LuaScript(p.read_text(encoding="utf-8"), str(p))
                   for p in sorted(folder.glob(f"*/{ACTION}"))}
        return ActionScripts((LuaScript(discovery.read_text(encoding="utf-8"), str(discovery)),), scripts)
    except (OSError, UnicodeDecodeError) as error:
        raise ActionError(f"{folder} cannot be read: {error}") from None


def find_actions(customizations: Customizations, group: str, kind: str) -> ActionScripts | None:
    """The action scripts of `group`/`kind`, or None when the kind has none."""
    builtin = _from_directory(BUILTIN, group, kind)
    directory = customizations.directory
    from_dir = _from_directory(directory.root, group, kind) if directory is not None else None
    fallback = from_dir or builtin
    override = customizations.config.actions(group, kind)
    if override is None:
        return fallback
    scripts = {name: LuaScript(source, f"{override.origin} {name}") for name, source in override.definitions}
    discoveries = (LuaScript(override.discovery_lua, f"{override.origin} discovery.lua"),) \
        if override.discovery_lua else ()
    if override.merge_builtin and fallback is not None:
        return ActionScripts(discoveries + fallback.discoveries, {**fallback.actions, **scripts})
    return ActionScripts(discoveries, scripts)
