"""The software catalogue (software-catalog.yaml): applications out of vendor
support, remote-access tools, activation cracks; loaded, validated, matched.

Matching is done when a bundle is parsed (like the security products
catalogue), so the HostReport carries what the catalogue flagged; rules only
read it. An entry's `names` are anchored regular expressions over a program's
DisplayName, its `services` exact service names: never substrings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

FORMAT = "itaudit-software-catalog/1"
CATEGORIES = ("unsupported", "remote-access", "crack")
_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,63}$")
_KEYS = {
    "id",
    "title",
    "category",
    "names",
    "services",
    "version_below",
    "end_of_support",
    "source",
}


class SoftwareCatalogError(ValueError):
    """The catalogue file is not valid: every problem, with the entry it is in."""


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    category: str
    names: tuple[re.Pattern[str], ...]
    services: frozenset[str]
    version_below: tuple[int, ...] | None
    end_of_support: date | None
    source: str


def _version(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    parts = re.findall(r"\d+", text)
    return tuple(int(p) for p in parts[:4]) if parts else None


def parse_catalog(doc: Any, where: str = "software-catalog.yaml") -> list[Entry]:
    problems: list[str] = []
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SoftwareCatalogError(f"{where}: format must be {FORMAT}")
    out: list[Entry] = []
    seen: set[str] = set()
    for i, item in enumerate(doc.get("entries") or []):
        at = f"{where}: entries[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{at}: not a mapping")
            continue
        for key in sorted(set(item) - _KEYS):
            problems.append(f"{at}: unknown field {key!r}")
        ident = str(item.get("id") or "")
        if not _ID.match(ident) or ident in seen:
            problems.append(f"{at}: id {ident!r} missing, malformed or repeated")
        seen.add(ident)
        category = item.get("category")
        if category not in CATEGORIES:
            problems.append(f"{at}: category must be one of {', '.join(CATEGORIES)}")
        patterns = []
        for name in item.get("names") or []:
            try:
                patterns.append(re.compile(str(name), re.IGNORECASE))
            except re.error as exc:
                problems.append(f"{at}: names {name!r}: {exc}")
        services = item.get("services") or []
        if not patterns and not services:
            problems.append(f"{at}: needs names or services")
        eos = item.get("end_of_support")
        if eos is not None and not isinstance(eos, date):
            problems.append(f"{at}: end_of_support must be a date (YYYY-MM-DD)")
        if category == "unsupported" and eos is None and item.get("version_below") is None:
            problems.append(f"{at}: an unsupported entry needs end_of_support or version_below")
        if not item.get("source") or not item.get("title"):
            problems.append(f"{at}: title and source are required")
        below = item.get("version_below")
        if below is not None and _version(str(below)) is None:
            problems.append(f"{at}: version_below {below!r} has no number")
        out.append(
            Entry(
                ident,
                str(item.get("title") or ""),
                str(category),
                tuple(patterns),
                frozenset(str(s).casefold() for s in services),
                _version(str(below)) if below is not None else None,
                eos if isinstance(eos, date) else None,
                str(item.get("source") or ""),
            )
        )
    if problems:
        raise SoftwareCatalogError("\n".join(problems))
    return out


@cache
def bundled() -> tuple[Entry, ...]:
    text = resources.files("itaudit.agent").joinpath("software-catalog.yaml").read_text("utf-8")
    return tuple(parse_catalog(yaml.safe_load(text)))


def flag(
    entries: tuple[Entry, ...] | list[Entry],
    software: list[dict[str, Any]],
    services: list[dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """Everything installed or running that an entry of the catalogue flags."""
    out: list[dict[str, Any]] = []
    for e in entries:
        for item in software:
            name = str(item.get("name") or "")
            if not any(p.match(name) for p in e.names):
                continue
            installed = _version(item.get("version"))
            if e.version_below is not None and (installed is None or installed >= e.version_below):
                continue  # a fixed version; an unversioned entry is not judged
            out.append(_hit(e, name, item.get("version"), "software"))
        for svc in services or []:
            if str(svc.get("name") or "").casefold() in e.services:
                out.append(_hit(e, str(svc["name"]), None, "service"))
    return out[:256]


def _hit(e: Entry, name: str, version: Any, via: str) -> dict[str, Any]:
    return {
        "name": name[:256],
        "version": str(version)[:128] if version else None,
        "catalog_id": e.id,
        "title": e.title[:256],
        "category": e.category,
        "end_of_support": e.end_of_support.isoformat() if e.end_of_support else None,
        "via": via,
    }
