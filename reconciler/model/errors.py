"""Problems found in a manifest: each names the file, the field path and, where known, the line."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.core.errors import InputError


@dataclass(frozen=True)
class Problem:
    """One mistake in a manifest: the file, the field path, what is wrong and how to fix it."""

    file: str
    path: str  # e.g. `spec.syncPolicy.retry.backoff.duration`; "" for the file as a whole
    message: str
    line: int | None = None  # 1-based, when known

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(InputError):
    """Every problem found in a manifest (or file), reported together."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)
