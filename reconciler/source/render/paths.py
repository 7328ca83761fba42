"""Joining user-supplied paths onto a repository snapshot without escaping it."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from reconciler.source.render.errors import RenderError


def safe_join(root: Path, relative: str, *, field: str, base: Path | None = None, allow_parent: bool = False) -> Path:
    """Resolved `base / relative` (base defaults to root), guaranteed to stay inside `root`.

    Rejects absolute paths, any `..` unless `allow_parent` (Helm value files may
    climb out of the chart, never out of the repository), and symlinks whose target
    lies outside `root`. `field` names the spec field in the error message.
    """
    if PurePosixPath(relative).is_absolute() or PureWindowsPath(relative).is_absolute():
        raise RenderError(f"{field} {relative!r} is absolute: give a path relative to the repository root")
    if not allow_parent and ".." in PurePosixPath(relative.replace("\\", "/")).parts:
        raise RenderError(f"{field} {relative!r} contains '..': give a path inside the repository")
    start = base if base is not None else root
    resolved = (start / relative).resolve() if relative not in ("", ".") else start.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise RenderError(
            f"{field} {relative!r} resolves outside the repository (through '..' or a symlink): "
            "give a path inside the repository"
        )
    return resolved


def relative_name(root: Path, path: Path) -> str:
    """Repository-relative POSIX name of `path` (symlinks in its last part are kept)."""
    if path.resolve() == root.resolve():
        return "."
    try:
        return path.parent.resolve().relative_to(root.resolve()).joinpath(path.name).as_posix()
    except ValueError:
        return path.as_posix()


def check_symlinks_inside(root: Path, directory: Path) -> None:
    """Refuse a directory holding symlinks that point outside the repository.

    Renderers (Helm in particular) read files on their own; this check runs first so
    none of them can be led out of the snapshot.
    """
    root_resolved = root.resolve()
    for current, dirs, files in os.walk(directory, followlinks=False):
        for name in sorted((*dirs, *files)):
            entry = Path(current) / name
            if entry.is_symlink() and not entry.resolve().is_relative_to(root_resolved):
                raise RenderError(
                    "symlink points outside the repository: replace it with a file or a link inside it",
                    file=relative_name(root, entry),
                )
