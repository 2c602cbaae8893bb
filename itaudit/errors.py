"""The error hierarchy: one base, one class per layer.

Library code raises these; only the CLI turns them into exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can."""

    source: str  # file name, or "<stdin>"
    message: str
    line: int | None = None
    field: str | None = None
    severity: str = "error"  # or "warning": reported, but the input is still usable

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        tag = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {tag}{self.message}"


class ItauditError(Exception):
    """Base of every error itaudit raises on purpose."""


class UsageError(ItauditError):
    """The caller asked for something that cannot be done (exit 2)."""


class InputError(ItauditError):
    """An input file is wrong; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem] | Problem, summary: str | None = None):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__(summary or "\n".join(str(p) for p in self.problems))


class StoreError(ItauditError):
    """The inventory store cannot be opened or used (exit 3: the environment failed)."""


class StoreURLError(StoreError, UsageError):
    """The store URL itself is wrong: a usage error (exit 2), still a StoreError to callers."""
