"""Which files differ between two commits of a repository: what a pull-request preview uses to
skip the apps whose paths a change does not touch (reconciler/control/previews/select.py)."""

from __future__ import annotations

import git as gitpython

from reconciler.core.urls import redact_url
from reconciler.source.git.client import GitSource
from reconciler.source.git.errors import GitError
from reconciler.source.git.refs import is_full_sha


def changed_files(source: GitSource, repo_url: str, base: str, head: str) -> tuple[str, ...]:
    """Repository-relative paths added, changed, removed or renamed (both names) from commit
    `base` to commit `head` (full SHAs; fetched into the mirror when missing). Raises GitError."""
    if not (is_full_sha(base) and is_full_sha(head)):
        raise GitError(f"changed_files needs two full commit SHAs, got {base!r} and {head!r}: resolve them first")
    if base == head:
        return ()
    source.ensure_commit(repo_url, base)
    source.ensure_commit(repo_url, head)
    mirror = source.layout.mirror_dir(repo_url)
    # --no-renames: a rename is its old and its new path, both of which may belong to an app.
    args = ["git", f"--git-dir={mirror}", "diff", "--name-only", "--no-renames", "-z", base, head, "--"]
    status, out, err = gitpython.cmd.Git(str(mirror)).execute(
        args, with_extended_output=True, with_exceptions=False, env={"GIT_TERMINAL_PROMPT": "0"}
    )
    if status != 0:
        raise GitError(
            f"cannot list the files changed between {base[:7]} and {head[:7]} in {redact_url(repo_url)}: "
            f"{' '.join(str(err).split())[:200]}"
        )
    return tuple(name for name in str(out).split("\0") if name)
