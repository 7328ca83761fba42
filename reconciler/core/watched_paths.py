"""Which files an application source watches: its path, its Helm value files and the paths of
Argo CD's `argocd.argoproj.io/manifest-generate-paths` annotation. A push webhook polls only the
apps a push touches (reconciler/api/webhook/matching.py); a pull-request preview renders only the
apps a change touches (reconciler/control/previews/select.py)."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from fnmatch import fnmatchcase


def _clean(path: str) -> str:
    """Repository-relative POSIX path without `./`, `//` or a leading slash; "" is the root."""
    cleaned = posixpath.normpath("/" + path.strip()).lstrip("/")
    return "" if cleaned == "." else cleaned


def _resolve(base: str, relative: str) -> str | None:
    """`relative` joined to `base`; None when it leaves the repository (or is a URL/ref)."""
    relative = relative.strip()
    if not relative or "://" in relative or relative.startswith("$"):
        return None  # remote value files and `$ref/...` of another source: not this push's files
    joined = posixpath.normpath(posixpath.join(base or ".", relative))
    if joined == ".." or joined.startswith("../"):
        return None
    return "" if joined == "." else joined


def _watched_paths(path: str, value_files: Sequence[str], extra_paths: str) -> list[str]:
    base = _clean(path)
    watched = [base]
    for value_file in value_files:
        resolved = _resolve(base, value_file)
        if resolved is not None:
            watched.append(resolved)
    for item in extra_paths.split(";"):
        item = item.strip()
        if not item:
            continue
        resolved = _clean(item) if item.startswith("/") else _resolve(base, item)
        if resolved is not None:
            watched.append(resolved)
    return watched


def _covers(watched: str, changed: str) -> bool:
    if watched == "":
        return True
    if changed == watched or changed.startswith(watched + "/"):
        return True
    # Globs as Go's filepath.Match (Argo CD): `*` stays within one path segment.
    watched_parts, changed_parts = watched.split("/"), changed.split("/")
    return len(watched_parts) <= len(changed_parts) and all(
        fnmatchcase(c, w) for w, c in zip(watched_parts, changed_parts, strict=False)
    )


def files_match(
    changed_files: Sequence[str] | None, path: str, value_files: Sequence[str] = (), extra_paths: str = ""
) -> bool:
    """True when any changed file lies under the source path, a value file or an extra path.

    None (the provider did not say which files changed) always matches.
    """
    if changed_files is None:
        return True
    watched = _watched_paths(path, value_files, extra_paths)
    return any(_covers(w, _clean(f)) for f in changed_files for w in watched)
