"""The agent's errors (subclasses of the itaudit hierarchy)."""

from __future__ import annotations

from itaudit.errors import InputError, ItauditError, Problem


class AgentError(ItauditError):
    """The agent cannot do its job on this machine (exit 3): no key, no output."""


class BundleError(InputError):
    """A bundle cannot be read: missing manifest, unsafe file name, bad JSON (exit 2)."""

    def __init__(self, source: str, message: str):
        super().__init__(Problem(source, message))
