"""Which repositories on this machine's file system an Application may read.

A repoURL may be a local path or a `file://` URL (the demo and tests use them). Left open,
anyone who can create an app could read any repository the worker can see, including the
mirrors of other apps' repositories in the data dir. So local repositories are refused
unless they lie under a root listed in RECONCILER_LOCAL_REPO_ROOTS (colon-separated absolute
paths), and the data dir (the git cache with its mirrors and snapshots) is refused even when
it lies under such a root. Paths are compared after resolving symlinks and `..`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reconciler.source.git.errors import GitError

ROOTS_VARIABLE = "RECONCILER_LOCAL_REPO_ROOTS"


def local_path(repo_url: str) -> Path | None:
    """The directory a local repoURL names (a `file://` URL or an absolute path), else None."""
    url = repo_url.strip()
    if url.startswith("/"):
        return Path(url)
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        return None
    if parts.netloc not in ("", "localhost"):
        raise GitError(f'"{url}": a file:// URL names a path on this machine; write file:///path (no host)')
    return Path(unquote(parts.path))


@functools.lru_cache(maxsize=64)
def _configured(directory: Path) -> Path:
    """A configured root or data dir, resolved once per process (each poll of a local repository
    resolves the repository's own path afresh)."""
    return directory.resolve()


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@dataclass(frozen=True)
class LocalRepoPolicy:
    roots: tuple[Path, ...] = ()
    forbidden: tuple[Path, ...] = ()

    @classmethod
    def from_env(cls) -> LocalRepoPolicy:
        from reconciler.settings import Settings

        settings = Settings.from_env()
        return cls(roots=settings.local_repo_roots, forbidden=(settings.data_dir,))

    def forbidding(self, path: Path) -> LocalRepoPolicy:
        return replace(self, forbidden=(*self.forbidden, path))

    def check(self, repo_url: str) -> None:
        """Raise GitError when `repo_url` is a local repository this system may not read."""
        path = local_path(repo_url)
        if path is None:
            return
        resolved = path.resolve()
        shown = str(path)
        for forbidden in self.forbidden:
            if _inside(resolved, _configured(forbidden)):
                raise GitError(
                    f"local repository {shown} is refused: it lies in the reconciler's data dir ({forbidden}), "
                    "which is never readable as a repository"
                )
        if not any(_inside(resolved, _configured(root)) for root in self.roots):
            allowed = ":".join(str(r) for r in self.roots) or "unset"
            raise GitError(
                f"local repository {shown} is refused: local paths and file:// URLs are read only under "
                f"{ROOTS_VARIABLE} (now {allowed}); add a directory holding it to {ROOTS_VARIABLE} "
                "(colon-separated absolute paths), or serve the repository over https:// or ssh://"
            )
