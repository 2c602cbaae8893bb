"""Patch level from a release table: how long a machine has lacked a monthly update.

A release table (`profiles/data/windows-releases.yaml`) lists, per OS build, the
revision (UBR) of each monthly cumulative update with its date. Updates are
cumulative and revisions grow with each release, so a machine at revision R has
every release whose revision is at most R. Its *patch age* is the age in days
of the oldest release it lacks: how long it has been behind. (The age of the
newest missing release would make a machine a year behind look as fresh as one
that missed only this month.) A machine that has every release is 0 days behind.

Nothing is guessed: an unreported build or revision, a build the table does
not list, a table older than the allowed age, or a gap in the table (a release
listed without its revision) right after the machine's level give *unknown*
with the reason, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from itaudit.profiles.model import Catalog


@dataclass(frozen=True)
class Release:
    product: str
    build: int
    server: bool | None  # None: the same release serves client and server editions
    revision: int | None  # None: the release exists but its revision was not found
    kb: str | None
    released: date


@dataclass(frozen=True)
class Judgement:
    days: int | None  # None: could not be decided
    text: str  # the reason or what decided it, shown as evidence


def _release(entry: dict[str, Any]) -> Release | None:
    build, released = entry.get("build"), entry.get("released")
    if not isinstance(build, int) or not isinstance(released, date):
        return None
    return Release(
        str(entry.get("product") or f"build {build}"),
        build,
        entry.get("server"),
        entry.get("revision"),
        entry.get("kb"),
        released,
    )


class ReleaseTable:
    """A release catalogue indexed by build, ready to judge machines."""

    def __init__(self, catalog: Catalog):
        self.name = catalog.name
        self.as_of = catalog.as_of
        by_build: dict[int, list[Release]] = {}
        for entry in catalog.entries:
            rel = _release(entry)
            if rel is not None:
                by_build.setdefault(rel.build, []).append(rel)
        for rels in by_build.values():
            rels.sort(key=lambda r: (r.released, r.revision or 0))
        self.by_build = by_build

    def judge(
        self,
        build: Any,
        revision: Any,
        server: Any,
        today: date,
        max_table_age: Any,
    ) -> Judgement:
        as_of = self.as_of
        if not _is_int(build) or not _is_int(revision):
            missing = "os.build" if not _is_int(build) else "os.patch_revision"
            return Judgement(None, f"{missing} not reported")
        if as_of is None:
            return Judgement(None, f"the release table {self.name} has no as_of date")
        age = (today - as_of).days
        if not _is_int(max_table_age) or age > max_table_age:
            return Judgement(
                None,
                f"the release table is as of {as_of}, {age} days old (limit {max_table_age}): "
                "import a newer one with 'itaudit advisories import'",
            )
        rels = self.by_build.get(build)
        if not rels:
            return Judgement(None, f"build {build} not in the release table (as of {as_of})")
        if any(r.server is not None for r in rels):
            if not isinstance(server, bool):
                return Judgement(
                    None, f"os.server not reported: build {build} has client and server releases"
                )
            rels = [r for r in rels if r.server is None or r.server is server]
        rels = [r for r in rels if r.released <= today]
        if not rels:
            return Judgement(None, f"no release of build {build} before {today} in the table")
        have = f"has {build}.{revision}"
        level = -1  # index of the newest release the machine has
        for i, r in enumerate(rels):
            if r.revision is not None and r.revision <= revision:
                level = i
        if level == len(rels) - 1:
            newest = rels[-1]
            return Judgement(
                0,
                f"up to date: {have}, newest release {_name(newest)}; table as of {as_of}",
            )
        first = rels[level + 1]
        if first.revision is None:
            return Judgement(
                None,
                f"the table lacks the revision of the {first.released} release of "
                f"{first.product}: cannot tell whether {build}.{revision} has it",
            )
        days = (today - first.released).days
        before = " (older than the table's first release)" if level < 0 else ""
        return Judgement(
            days,
            f"lacks {_name(first)}{before}; {have}; table as of {as_of}",
        )


def _name(r: Release) -> str:
    rev = f"{r.build}.{r.revision}" if r.revision is not None else f"{r.build}.?"
    return f"{r.kb or 'the update'} ({rev}, {r.released})"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
