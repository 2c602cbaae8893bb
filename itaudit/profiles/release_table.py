"""The Windows release table: checking a new one and putting it into a workspace.

The table is a catalogue (`profiles/data/windows-releases.yaml`) that rule
L1-PATCH-01 reads through `release_age`. The officer receives a newer one on
a USB stick (or edits a copy) and runs `itaudit advisories import FILE`:
the file is checked as a catalogue and as a release table (every problem with
its file, line and field), then copied over the workspace's table, unless it
is older than the table it would replace.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from itaudit.errors import InputError, Problem, UsageError
from itaudit.profiles.conditions import RELEASE_FIELDS
from itaudit.profiles.load import _load_catalog  # the one catalogue reader, reused
from itaudit.profiles.model import Catalog
from itaudit.yamlfile import LineDict, LineList, load_yaml

NAME = "windows-releases"
KB_RE = re.compile(r"^KB[0-9]{6,8}$")


@dataclass(frozen=True)
class TableSummary:
    path: Path
    as_of: date | None
    builds: dict[int, int]  # build -> releases with a revision
    verified: int
    gaps: int  # releases listed without their revision


def table_path(profiles: Path) -> Path:
    return profiles / "data" / f"{NAME}.yaml"


def read_table(path: Path) -> Catalog:
    """Load and check a release table; InputError with every problem, located."""
    problems: list[Problem] = []
    source = str(path)
    with tempfile.TemporaryDirectory() as tmp:
        # The catalogue reader wants the file named after the catalogue.
        named = Path(tmp) / f"{NAME}.yaml"
        shutil.copyfile(path, named)
        catalog = _load_catalog(named, problems)
        problems = [
            dataclasses.replace(p, source=source) if p.source == str(named) else p for p in problems
        ]
    if catalog is None or problems:
        raise InputError(problems or [Problem(source, "not a release table")])
    doc = load_yaml(path)
    _check_table(doc, catalog, source, problems)
    if problems:
        raise InputError(problems)
    return catalog


def _check_table(doc: Any, catalog: Catalog, source: str, problems: list[Problem]) -> None:
    def err(node: Any, key: str | None, message: str) -> None:
        line = (
            node.line_of(key) if key and isinstance(node, LineDict) else getattr(node, "line", None)
        )
        problems.append(Problem(source, message, line, key))

    if catalog.name != NAME:
        err(doc, "catalog", f"must be {NAME!r} (this is the Windows release table)")
    if catalog.as_of is None:
        err(doc, "as_of", "is required: the day the table was brought up to date (YYYY-MM-DD)")
    for fname, kind in RELEASE_FIELDS.items():
        ftype = catalog.fields.get(fname)
        if ftype is None or ftype.kind != kind:
            err(doc.get("fields", doc), fname, f"the table needs a field {fname!r} of type {kind}")
    entries = doc.get("entries")
    if not isinstance(entries, LineList):
        return
    seen: dict[tuple[Any, Any, Any], int] = {}
    for node in entries:
        if not isinstance(node, LineDict):
            continue
        for key in ("product", "build", "released", "verified"):
            if node.get(key) is None:
                err(node, None, f"an entry needs {key!r}")
        kb, revision = node.get("kb"), node.get("revision")
        if kb is not None and not (isinstance(kb, str) and KB_RE.match(kb)):
            err(node, "kb", f"{kb!r} is not a KB number such as KB5068781")
        if revision is not None and node.get("source") is None:
            err(node, "source", "a release with a revision must say where it comes from")
        if node.get("verified") is True and revision is None:
            err(node, "verified", "a release without its revision cannot be verified")
        if isinstance(revision, int) and revision < 0:
            err(node, "revision", "must be a whole number, the revision (UBR)")
        key3 = (node.get("build"), node.get("server"), node.get("released"))
        if key3 in seen:
            err(node, "released", f"a second release of this build on that day (line {seen[key3]})")
        else:
            seen[key3] = node.line


def summarise(path: Path, catalog: Catalog) -> TableSummary:
    builds: dict[int, int] = {}
    gaps = verified = 0
    for e in catalog.entries:
        if e.get("revision") is None:
            gaps += 1
            continue
        builds[e["build"]] = builds.get(e["build"], 0) + 1
        verified += bool(e.get("verified"))
    return TableSummary(path, catalog.as_of, dict(sorted(builds.items())), verified, gaps)


def import_table(source: Path, profiles: Path, force: bool = False) -> TableSummary:
    """Check `source` and copy it over the workspace's release table.

    A table older (by as_of) than the one in place is refused unless `force`:
    replacing a newer table by an older one would hide releases.
    """
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    new = read_table(source)
    target = table_path(profiles)
    if target.is_file() and not force:
        try:
            current = read_table(target)
        except InputError:
            current = None  # a broken table in place may always be replaced
        if (
            current is not None
            and current.as_of is not None
            and new.as_of is not None
            and new.as_of < current.as_of
        ):
            raise UsageError(
                f"{source}: the table is as of {new.as_of}, older than the one in place "
                f"({current.as_of}, {target}); use --force to replace it anyway"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed: a failed copy never leaves half a table.
    fd, tmp = tempfile.mkstemp(prefix=f".{NAME}-", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return summarise(target, new)
