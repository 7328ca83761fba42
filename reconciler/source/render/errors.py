"""The one error every renderer raises: it names the file (and line) a user has to fix."""

from __future__ import annotations

from reconciler.core.errors import InputError


class RenderError(InputError):
    """A source could not be turned into objects; nothing of it may be applied.

    `file` is relative to the repository root (None when no single file is at fault),
    `line` is 1-based (None when unknown). str() reads `path/file.yaml:12: message`.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}: {self.message}"
        if self.file:
            return f"{self.file}: {self.message}"
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Celery pickles exceptions across processes; keep the keyword-only fields.
        return (_rebuild, (self.message, self.file, self.line))


def _rebuild(message: str, file: str | None, line: int | None) -> RenderError:
    return RenderError(message, file=file, line=line)
