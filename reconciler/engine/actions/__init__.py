"""Argo CD's resource actions: Lua scripts that offer (discovery) and perform (action) changes
to a live object, run in the health checks' sandbox (engine/health/rules/lua_runtime.py).

    find_actions(customizations, group, kind) -> ActionScripts | None    catalog.py
    discover(scripts, obj) -> [ResourceAction]                          lua.py
    run(scripts, name, obj, params) -> [Impacted]                       lua.py
    merge_patch(live, new) -> dict                                      patch.py
"""

from reconciler.engine.actions.catalog import ActionError, ActionScripts, find_actions
from reconciler.engine.actions.lua import Impacted, ResourceAction, discover, run
from reconciler.engine.actions.patch import merge_patch

__all__ = ["ActionError", "ActionScripts", "Impacted", "ResourceAction", "discover", "find_actions", "merge_patch",
           "run"]
