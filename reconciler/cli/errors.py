"""The error every `reconciler` command raises for what it could not do (a module of its own, so
a command imports it without importing the offline render/diff machinery)."""

from __future__ import annotations


class CommandError(Exception):
    """A command could not do its work; the message says why and what to fix."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
