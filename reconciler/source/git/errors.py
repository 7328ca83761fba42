"""Errors of the Git source. Messages name the repository (credentials stripped) and say what to fix."""

from __future__ import annotations

from reconciler.core.errors import TransientError


class GitError(TransientError):
    """A git operation failed: unreachable repository, unknown revision, bad credentials, timeout."""


class PathEscapeError(GitError):
    """A path in an Application source would leave the repository (`..`, absolute, symlink out)."""

    retryable = False


class PathNotFoundError(GitError):
    """A path in an Application source does not exist at the resolved commit."""

    retryable = False


class RevisionNotFound(GitError):
    """No branch, tag or commit by that name: perhaps pushed a moment ago, after the cached
    ref listing was taken (a poll that sees this asks for a fresh listing next time)."""
