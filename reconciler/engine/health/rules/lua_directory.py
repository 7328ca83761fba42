"""Health checks in Argo CD's `resource_customizations` directory layout.

    <root>/<group>/<kind>/health.lua      e.g. cert-manager.io/Certificate/health.lua
    <root>/<kind>/health.lua              core group (Argo CD's key for it is the bare kind)

A directory name made of or containing `_` stands for a wildcard: `_` is `*` (a directory
name cannot hold `*`), so `_.crossplane.io/_/health.lua` is the pattern
`*.crossplane.io/*` and checks every kind of every `*.crossplane.io` group. As in Argo CD
(`util/lua`), the exact `<group>/<kind>` directory wins; only when it has no health.lua
are the wildcard directories tried. Argo CD does not define an order among several
matching wildcards; here the most specific wins (fewest wildcards, then the longest
pattern, then alphabetical), so the choice never depends on the file system.

The tree is indexed once (names only: a new directory needs a restart); a script is read
when first asked for and again when its file changes. Other
files (health_test.yaml, testdata/, actions/) are ignored.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from reconciler.core.errors import InputError
from reconciler.engine.health.rules.lua_runtime import LuaScript

HEALTH_SCRIPT = "health.lua"


class CustomizationsDirError(InputError, ValueError):
    """The configured directory cannot be read."""


def config_key(group: str, kind: str) -> str:
    """Argo CD's key for a group and kind: `group/Kind`, or `Kind` for the core group."""
    return f"{group}/{kind}" if group else kind


@dataclass(frozen=True)
class LuaDirectory:
    root: Path
    exact: dict[str, Path] = field(default_factory=dict)  # "group/Kind" -> health.lua
    wildcards: tuple[tuple[str, Path], ...] = ()  # ("*.crossplane.io/*", path), most specific first

    @classmethod
    def scan(cls, root: Path) -> LuaDirectory:
        if not root.is_dir():
            raise CustomizationsDirError(f"{root} is not a directory")
        exact: dict[str, Path] = {}
        patterns: list[tuple[str, Path]] = []
        try:
            for script in sorted(root.glob(f"*/{HEALTH_SCRIPT}")) + sorted(root.glob(f"*/*/{HEALTH_SCRIPT}")):
                key = script.parent.relative_to(root).as_posix()
                if "_" in key:
                    patterns.append((key.replace("_", "*"), script))
                else:
                    exact[key] = script
        except OSError as error:
            raise CustomizationsDirError(f"{root} cannot be read: {error.strerror or error}") from None
        patterns.sort(key=lambda item: (item[0].count("*"), -len(item[0]), item[0]))
        return cls(root=root, exact=exact, wildcards=tuple(patterns))

    def find(self, group: str, kind: str) -> LuaScript | None:
        """The check for `group`/`kind`, or None when the directory has none."""
        key = config_key(group, kind)
        path = self.exact.get(key)
        if path is None:
            path = next((p for pattern, p in self.wildcards if fnmatch.fnmatchcase(key, pattern)), None)
        if path is None:
            return None
        return LuaScript(source=_read(path), origin=str(path))


def _read(path: Path) -> str:
    try:
        return _read_version(str(path), path.stat().st_mtime_ns)
    except (OSError, UnicodeDecodeError) as error:
        # Surfaces as the object's Unknown health, naming the file.
        raise CustomizationsDirError(f"{path} cannot be read: {error}") from None


@lru_cache(maxsize=1024)
def _read_version(path: str, mtime_ns: int) -> str:
    # Keyed by modification time: an edited script is read again, an unchanged one never.
    return Path(path).read_text(encoding="utf-8")
