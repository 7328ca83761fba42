"""Argo CD's resource customizations, read from an `argocd-cm` ConfigMap file.

RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE names either a YAML file, holding a whole ConfigMap
(its `data:` is read, so the `argocd-cm` of an Argo CD installation can be used as it is)
or just the `data:` map; or a directory where a ConfigMap is mounted as a volume (one file
per key, as Kubernetes mounts it). The keys read are Argo CD's:

    resource.customizations.health.<group>_<kind>             a Lua health check
    resource.customizations.ignoreDifferences.<group>_<kind>  jsonPointers / jqPathExpressions /
                                                               managedFieldsManagers (YAML)
    resource.customizations.ignoreResourceUpdates.<group>_<kind>
    resource.customizations                                    the older single key: YAML map of
                                                               "group/Kind" -> {health.lua, ignoreDifferences, ...}

    resource.customizations.actions.<group>_<kind>            resource actions (YAML: discovery.lua,
                                                               definitions [{name, action.lua}],
                                                               mergeBuiltinActions)

`<group>_<kind>` is `cert-manager.io_Certificate`, or the bare kind for the core group;
`all` means every kind; `*` wildcards are allowed, as in Argo CD. The split keys win over
the single key for the same kind. `useOpenLibs` and `knownTypeFields` keys are accepted and
not used (checks here always get the safe standard libraries). Every other key of the
ConfigMap is ignored, so a full argocd-cm loads.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.errors import InputError
from reconciler.engine.health.rules.lua_directory import config_key
from reconciler.engine.health.rules.lua_runtime import LuaScript
from reconciler.model import ResourceIgnoreDifferences
from reconciler.model.configmap_data import ConfigMapFileError, read_configmap_data

PREFIX = "resource.customizations"
_ACCEPTED_UNUSED = ("useOpenLibs", "knownTypeFields")


class CustomizationsFileError(InputError, ValueError):
    """The customizations file cannot be read or holds a key that cannot be used."""


@dataclass(frozen=True)
class IgnoreRule:
    """Argo CD's OverrideIgnoreDiff: what to ignore for every object of a kind."""

    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActionsOverride:
    """Argo CD's ResourceActions: a discovery script, named action scripts, and whether the
    built-in actions of the kind stay offered beside them."""

    discovery_lua: str = ""
    definitions: tuple[tuple[str, str], ...] = ()  # (name, action.lua)
    merge_builtin: bool = False
    origin: str = ""


@dataclass(frozen=True)
class ResourceOverride:
    health_lua: str = ""
    ignore_differences: IgnoreRule | None = None
    ignore_resource_updates: IgnoreRule | None = None
    actions: ActionsOverride | None = None


@dataclass(frozen=True)
class ConfigOverrides:
    """Overrides by Argo CD key (`group/Kind`, `Kind`, or a glob such as `*.crossplane.io/*`)."""

    source: str = ""  # the file, for messages
    overrides: dict[str, ResourceOverride] = field(default_factory=dict)

    def health_script(self, group: str, kind: str) -> LuaScript | None:
        """Exact key first, then the first matching wildcard key (sorted, so the choice is stable)."""
        key = config_key(group, kind)
        override = self.overrides.get(key)
        if override is not None and override.health_lua:
            return LuaScript(override.health_lua, f"{self.source} {_split_key('health', key)}")
        for pattern in sorted(k for k in self.overrides if "*" in k):
            override = self.overrides[pattern]
            if override.health_lua and fnmatch.fnmatchcase(key, pattern):
                return LuaScript(override.health_lua, f"{self.source} {_split_key('health', pattern)}")
        return None

    def actions(self, group: str, kind: str) -> ActionsOverride | None:
        """The configured actions of `group`/`kind` (exact key, then the first matching wildcard)."""
        key = config_key(group, kind)
        override = self.overrides.get(key)
        if override is not None and override.actions is not None:
            return override.actions
        for pattern in sorted(k for k in self.overrides if "*" in k):
            override = self.overrides[pattern]
            if override.actions is not None and fnmatch.fnmatchcase(key, pattern):
                return override.actions
        return None

    def ignore_differences(self) -> tuple[ResourceIgnoreDifferences, ...]:
        return self._rules(lambda o: o.ignore_differences)

    def ignore_resource_updates(self) -> tuple[ResourceIgnoreDifferences, ...]:
        return self._rules(lambda o: o.ignore_resource_updates)

    def _rules(self, pick: Any) -> tuple[ResourceIgnoreDifferences, ...]:
        rules = []
        for key in sorted(self.overrides):
            rule: IgnoreRule | None = pick(self.overrides[key])
            if rule is None:
                continue
            group, _, kind = key.rpartition("/")
            rules.append(
                ResourceIgnoreDifferences(
                    group=group,
                    kind=kind,
                    json_pointers=rule.json_pointers,
                    jq_path_expressions=rule.jq_path_expressions,
                    managed_fields_managers=rule.managed_fields_managers,
                )
            )
        return tuple(rules)


def _split_key(kind_of: str, key: str) -> str:
    group, _, kind = key.rpartition("/")
    return f"{PREFIX}.{kind_of}.{group}_{kind}" if group else f"{PREFIX}.{kind_of}.{kind}"


def load_config_file(path: Path) -> ConfigOverrides:
    try:
        data = read_configmap_data(path)
    except ConfigMapFileError as error:
        raise CustomizationsFileError(str(error)) from None
    return parse_config_data(data, str(path))


def parse_config_data(data: Mapping[str, Any], source: str) -> ConfigOverrides:
    """Overrides from an argocd-cm `data:` map; raises CustomizationsFileError naming the key."""
    overrides: dict[str, ResourceOverride] = {}
    single = data.get(PREFIX)
    if single:
        overrides.update(_single_key(single, source))
    for name in sorted(data):
        if not isinstance(name, str) or not name.startswith(PREFIX + "."):
            continue
        parts = name.split(".", 3)
        if len(parts) < 4:
            continue  # e.g. a key Argo CD itself would ignore
        kind_of, key = parts[2], _override_key(parts[3], name, source)
        value = data[name]
        if kind_of in _ACCEPTED_UNUSED:
            continue
        current = overrides.get(key, ResourceOverride())
        if kind_of == "health":
            overrides[key] = replace(current, health_lua=_text(value, name, source))
        elif kind_of == "ignoreDifferences":
            overrides[key] = replace(current, ignore_differences=_ignore_rule(value, name, source))
        elif kind_of == "ignoreResourceUpdates":
            overrides[key] = replace(current, ignore_resource_updates=_ignore_rule(value, name, source))
        elif kind_of == "actions":
            overrides[key] = replace(current, actions=_actions(value, name, source))
        else:
            raise CustomizationsFileError(f"{source}: {name}: resource customization type {kind_of!r} is not supported")
    return ConfigOverrides(source=source, overrides=overrides)


def _override_key(group_kind: str, name: str, source: str) -> str:
    """`cert-manager.io_Certificate` -> `cert-manager.io/Certificate`; `Pod` -> `Pod`; `all` -> `*/*`."""
    parts = group_kind.split("_")
    if len(parts) == 2 and parts[1]:
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 1 and group_kind:
        return "*/*" if group_kind == "all" else group_kind
    raise CustomizationsFileError(
        f"{source}: {name}: expected {PREFIX}.<type>.<group>_<kind> or {PREFIX}.<type>.<kind>"
    )


def _single_key(value: Any, source: str) -> dict[str, ResourceOverride]:
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise CustomizationsFileError(f"{source}: {PREFIX} is not valid YAML: {error}") from None
    if not isinstance(value, Mapping):
        raise CustomizationsFileError(f"{source}: {PREFIX} must be a map of group/kind to customizations")
    result: dict[str, ResourceOverride] = {}
    for key, entry in value.items():
        where = f"{PREFIX} {key}"
        if not isinstance(entry, Mapping):
            raise CustomizationsFileError(f"{source}: {where} must be a map (health.lua, ignoreDifferences, ...)")
        result[str(key)] = ResourceOverride(
            health_lua=_text(entry.get("health.lua") or "", f"{where} health.lua", source),
            ignore_differences=_ignore_rule(entry["ignoreDifferences"], f"{where} ignoreDifferences", source)
            if entry.get("ignoreDifferences")
            else None,
            ignore_resource_updates=_ignore_rule(
                entry["ignoreResourceUpdates"], f"{where} ignoreResourceUpdates", source
            )
            if entry.get("ignoreResourceUpdates")
            else None,
            actions=_actions(entry["actions"], f"{where} actions", source) if entry.get("actions") else None,
        )
    return result


def _text(value: Any, where: str, source: str) -> str:
    if not isinstance(value, str):
        raise CustomizationsFileError(f"{source}: {where} must be a string holding a Lua script")
    return value


def _ignore_rule(value: Any, where: str, source: str) -> IgnoreRule:
    # argocd-cm values are strings holding YAML; a map written inline is accepted too.
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value) or {}
        except yaml.YAMLError as error:
            raise CustomizationsFileError(f"{source}: {where} is not valid YAML: {error}") from None
    if not isinstance(value, Mapping):
        raise CustomizationsFileError(f"{source}: {where} must be a map with jsonPointers, jqPathExpressions, ...")

    def strings(name: str) -> tuple[str, ...]:
        items = value.get(name) or []
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise CustomizationsFileError(f"{source}: {where}: {name} must be a list of strings")
        return tuple(items)

    return IgnoreRule(
        json_pointers=strings("jsonPointers"),
        jq_path_expressions=strings("jqPathExpressions"),
        managed_fields_managers=strings("managedFieldsManagers"),
    )


def _actions(value: Any, where: str, source: str) -> ActionsOverride:
    """Argo CD's `actions` value: YAML with `discovery.lua`, `definitions` and `mergeBuiltinActions`."""
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value) or {}
        except yaml.YAMLError as error:
            raise CustomizationsFileError(f"{source}: {where} is not valid YAML: {error}") from None
    if not isinstance(value, Mapping):
        raise CustomizationsFileError(f"{source}: {where} must be a map with discovery.lua and definitions")
    discovery = value.get("discovery.lua") or ""
    if not isinstance(discovery, str):
        raise CustomizationsFileError(f"{source}: {where}: discovery.lua must be a string holding a Lua script")
    definitions = []
    for index, item in enumerate(value.get("definitions") or []):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item.get("name"):
            raise CustomizationsFileError(f"{source}: {where}: definitions[{index}] needs a name")
        script = item.get("action.lua")
        if not isinstance(script, str) or not script.strip():
            raise CustomizationsFileError(
                f"{source}: {where}: definitions[{index}] ({item['name']}) needs action.lua, a Lua script"
            )
        definitions.append((str(item["name"]), script))
    merge = value.get("mergeBuiltinActions", False)
    if not isinstance(merge, bool):
        raise CustomizationsFileError(f"{source}: {where}: mergeBuiltinActions must be true or false")
    return ActionsOverride(discovery, tuple(definitions), merge, f"{source} {where}")
