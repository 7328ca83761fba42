"""The resource customizations a process is configured with, loaded once and cached; handed
explicitly to `assess` and `compare` (Services.customizations(), the watcher's own copy).

Settings name a ConfigMap file (RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE) and a directory
(RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR). A health check is looked up in that order:

    1. the file's resource.customizations.health.<group>_<kind> (exact key, then wildcards)
    2. the directory's <group>/<kind>/health.lua (exact, then `_` wildcards)
    3. none: the caller falls back to the built-in rules

The cache is process-wide and keyed by the settings' values and the file's modification
time, so a worker picks a changed file up at the next assessment, and a test that
changes the environment gets what it set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from reconciler.engine.health.rules.customizations import ConfigOverrides, CustomizationsFileError, load_config_file
from reconciler.engine.health.rules.lua_directory import CustomizationsDirError, LuaDirectory
from reconciler.engine.health.rules.lua_runtime import LuaScript
from reconciler.model import ResourceIgnoreDifferences
from reconciler.settings import Settings, SettingsError

CustomizationsError = (CustomizationsFileError, CustomizationsDirError, SettingsError)


@dataclass(frozen=True)
class Customizations:
    config: ConfigOverrides = field(default_factory=ConfigOverrides)
    directory: LuaDirectory | None = None
    # Why the configured customizations could not be loaded: every assessment says so (Unknown)
    # rather than silently using the built-in rules the configuration meant to replace.
    problem: str = ""

    def health_script(self, group: str, kind: str) -> LuaScript | None:
        script = self.config.health_script(group, kind)
        if script is None and self.directory is not None:
            script = self.directory.find(group, kind)
        return script


NONE = Customizations()


def customizations_for(settings: Settings) -> Customizations:
    """Raises CustomizationsFileError / CustomizationsDirError naming what cannot be used."""
    return _customizations_at(settings.resource_customizations_file, settings.resource_customizations_dir)


def loaded_customizations(settings: Settings) -> Customizations:
    """`customizations_for`, never raising: a configuration that cannot be used is carried as
    `problem` (the file or directory is read again once it changes)."""
    try:
        return customizations_for(settings)
    except CustomizationsError as error:
        return Customizations(problem=str(error))


def _customizations_at(file: str, directory: str) -> Customizations:
    if not file and not directory:
        return NONE
    mtime = 0
    if file:
        try:
            mtime = Path(file).expanduser().stat().st_mtime_ns
        except OSError as error:
            variable = "RECONCILER_RESOURCE_CUSTOMIZATIONS_FILE"
            raise CustomizationsFileError(f"{variable}={file!r}: {error.strerror}") from None
    return _load(file, mtime, directory)


@lru_cache(maxsize=8)
def _load(file: str, mtime_ns: int, directory: str) -> Customizations:
    config = load_config_file(Path(file).expanduser()) if file else ConfigOverrides()
    try:
        lua_dir = LuaDirectory.scan(Path(directory).expanduser()) if directory else None
    except CustomizationsDirError as error:
        raise CustomizationsDirError(f"RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR: {error}") from None
    return Customizations(config=config, directory=lua_dir)


def environment_customizations() -> Customizations:
    """The customizations the process environment names (the public `reconciler.health` path
    and the `reconciler health` command; the system's processes use their Settings')."""
    try:
        return _customizations_at(*Settings.resource_customizations_from_env())
    except CustomizationsError as error:
        return Customizations(problem=str(error))


def with_system_ignore_differences(
    app_rules: tuple[ResourceIgnoreDifferences, ...], customizations: Customizations
) -> tuple[ResourceIgnoreDifferences, ...]:
    """The system-level `resource.customizations.ignoreDifferences` rules, then the app's own.

    Both apply (Argo CD merges them the same way). With customizations that could not be
    loaded only the app's rules apply, and the error is not lost: `assess` reports it as every
    object's Unknown health in the same comparison.
    """
    return customizations.config.ignore_differences() + tuple(app_rules)


def system_ignore_resource_updates(customizations: Customizations) -> tuple[ResourceIgnoreDifferences, ...]:
    """`resource.customizations.ignoreResourceUpdates` rules, for a watcher deciding whether a change matters."""
    return customizations.config.ignore_resource_updates()
