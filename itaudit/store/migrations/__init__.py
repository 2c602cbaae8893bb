"""Registered migrations, applied in order, each in its own transaction and
recorded in `schema_migrations`.

A migration is frozen once released: it names its own DDL and never reads
`itaudit.store.tables`, which describes only the latest shape. Components add
a module here with a `MIGRATIONS` list and list it in `_MODULES` (after the
modules whose tables it references).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa


@dataclass(frozen=True)
class Migration:
    id: str  # "<component>.<NNN>_<name>", unique forever
    apply: Callable[[sa.Connection], None]


_MODULES = ["core", "scan", "check"]


def all_migrations() -> list[Migration]:
    found: list[Migration] = []
    for name in _MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        found.extend(module.MIGRATIONS)
    ids = [m.id for m in found]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f"duplicate migration ids: {ids}")
    return found
