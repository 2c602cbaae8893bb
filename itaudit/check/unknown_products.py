"""Security products seen on the fleet that the catalogue does not know yet.

The department's anti-malware may be in no catalogue (Bkav Endpoint publishes
no service names). Until it is, its machines cannot show that it runs or
reports to a console, so it must surface at once: `itaudit check` prints a
short section, the department report lists it, `itaudit catalog unknown`
lists it in full, and `itaudit catalog add --from-seen NAME` adds it to the
workspace catalogue (inventory/security-products.yaml) without editing code.

What counts as seen (documented in docs/agent.md):
- a Security Center registration (`security.antivirus[]` with source
  `securitycenter`) whose display name no catalogue product lists;
- a service or process the agent recorded in `security.uncatalogued`: its name
  or display name holds a vendor keyword of the catalogue's `watch:` list and
  no product claims it.
Both are checked again against the *current* catalogue, so a product added
after the reports were parsed disappears from the list at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itaudit.agent.catalog import Catalog, load_catalog

WORKSPACE_CATALOG = Path("inventory") / "security-products.yaml"
SOURCES = ("securitycenter", "service", "process")
MAX_HOSTS_SHOWN = 5


@dataclass(frozen=True)
class SeenProduct:
    """One name the catalogue does not know, with the machines it was seen on."""

    name: str
    source: str  # securitycenter, service, process
    display_name: str | None
    keyword: str | None  # the watch keyword (services and processes)
    hosts: tuple[str, ...]  # host names, sorted
    units: tuple[str, ...]
    running_on: int  # machines where it was seen running (None counted as not)
    leftover_on: int  # Security Center: machines where nothing of it runs

    @property
    def machines(self) -> int:
        return len(self.hosts)

    def add_command(self) -> str:
        """The command that adds it to the workspace catalogue."""
        kind = "av" if self.source == "securitycenter" else "av|edr"
        return f'itaudit catalog add --from-seen "{self.name}" --kind {kind}'

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "display_name": self.display_name,
            "keyword": self.keyword,
            "machines": self.machines,
            "hosts": list(self.hosts),
            "units": list(self.units),
            "running_on": self.running_on,
            "leftover_on": self.leftover_on,
            "add": self.add_command(),
        }


def workspace_catalog(root: Path, extra: Iterable[Path] = ()) -> Catalog:
    """The shipped catalogue, then the workspace's inventory/security-products.yaml."""
    files = []
    local = root / WORKSPACE_CATALOG
    if local.is_file():
        files.append(local)
    files.extend(extra)
    return load_catalog(files)


class _Acc:
    def __init__(self, name: str, source: str):
        self.name, self.source = name, source
        self.display: str | None = None
        self.keyword: str | None = None
        self.hosts: set[str] = set()
        self.units: set[str] = set()
        self.running: set[str] = set()
        self.leftover: set[str] = set()

    def freeze(self) -> SeenProduct:
        return SeenProduct(
            name=self.name,
            source=self.source,
            display_name=self.display,
            keyword=self.keyword,
            hosts=tuple(sorted(self.hosts, key=str.casefold)),
            units=tuple(sorted(self.units)),
            running_on=len(self.running),
            leftover_on=len(self.leftover),
        )


def unknown_in_reports(
    reports: Iterable[tuple[str, str | None, dict[str, Any]]], catalog: Catalog
) -> list[SeenProduct]:
    """Names the catalogue does not know, from (hostname, unit, HostReport) triples.

    Most machines first, then by name. Names compare case-insensitively.
    """
    acc: dict[tuple[str, str], _Acc] = {}

    def note(name: str, source: str, host: str, unit: str | None) -> _Acc:
        key = (source, name.casefold())
        entry = acc.get(key)
        if entry is None:
            entry = acc[key] = _Acc(name, source)
        entry.hosts.add(host)
        if unit:
            entry.units.add(unit)
        return entry

    for host, unit, doc in reports:
        sec = doc.get("security") if isinstance(doc, dict) else None
        if not isinstance(sec, dict):
            continue
        for av in sec.get("antivirus") or ():
            if not isinstance(av, dict) or av.get("source") != "securitycenter":
                continue
            name = av.get("name")
            if not isinstance(name, str) or catalog.by_securitycenter_name(name) is not None:
                continue
            entry = note(name, "securitycenter", host, unit)
            if av.get("running") is True:
                entry.running.add(host)
            if av.get("leftover") is True:
                entry.leftover.add(host)
        for item in sec.get("uncatalogued") or ():
            if not isinstance(item, dict):
                continue
            name, source = item.get("name"), item.get("source")
            if not isinstance(name, str) or source not in SOURCES or catalog.knows_name(name):
                continue
            entry = note(name, source, host, unit)
            entry.display = entry.display or item.get("display_name")
            entry.keyword = entry.keyword or item.get("keyword")
            if item.get("running") is True:
                entry.running.add(host)
    out = [a.freeze() for a in acc.values()]
    out.sort(key=lambda p: (-p.machines, p.name.casefold(), SOURCES.index(p.source)))
    return out


def unknown_products(store: Any, catalog: Catalog, unit: str | None = None) -> list[SeenProduct]:
    """Names the catalogue does not know, over the latest report of every host in the store."""
    import json

    def reports() -> Iterable[tuple[str, str | None, dict[str, Any]]]:
        for host, text in store.iter_latest(unit=unit):
            if host.platform not in (None, "windows") and '"uncatalogued"' not in text:
                continue  # only Windows reports carry Security Center and watched names today
            try:
                doc = json.loads(text)
            except ValueError:
                continue  # ingest validated it; a damaged row must not stop the listing
            yield host.hostname, host.unit, doc

    return unknown_in_reports(reports(), catalog)


def summary_lines(products: list[SeenProduct], limit: int = 10) -> list[str]:
    """The short section `itaudit check` prints (English, like the rest of its output)."""
    if not products:
        return []
    lines = ["", "Security products not in the catalogue:"]
    for p in products[:limit]:
        shown = ", ".join(p.hosts[:MAX_HOSTS_SHOWN])
        more = f", +{p.machines - MAX_HOSTS_SHOWN}" if p.machines > MAX_HOSTS_SHOWN else ""
        what = {"securitycenter": "Security Center", "service": "service", "process": "process"}
        lines.append(
            f"  {p.name} ({what[p.source]}) on {p.machines} machine(s) ({shown}{more})"
            f" — {p.add_command()}"
        )
    if len(products) > limit:
        lines.append(f"  … and {len(products) - limit} more: itaudit catalog unknown")
    return lines
