"""The antivirus / EDR catalogue: products recognised by service and process names.

The data lives in `products.yaml` beside this module; an officer extends it
with files of the same shape (`--catalog FILE`, or the workspace's
`inventory/security-products.yaml`). An entry whose id already exists replaces
the earlier one, so a site can correct a shipped entry without editing it.
Names match exactly (case-insensitive), never by substring.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from itaudit.errors import InputError, Problem

FORMAT = "itaudit-security-products/1"
KINDS = ("av", "edr")
PLATFORMS = ("windows", "linux")
CONFIDENCE = ("high", "medium", "low", "unknown")
_FIELDS = {
    "id",
    "product",
    "kind",
    "vendor",
    "platforms",
    "services",
    "processes",
    "securitycenter",
    "confidence",
    "source",
}
_MAX_NAMES = 64


@dataclass(frozen=True)
class Product:
    id: str
    product: str
    kind: str
    vendor: str | None
    platforms: tuple[str, ...]
    services: tuple[str, ...]
    processes: tuple[str, ...]
    securitycenter: tuple[str, ...]
    confidence: str
    source: str
    origin: str  # file:line the entry came from

    def service_keys(self) -> set[str]:
        return {_service_key(s) for s in self.services}

    def process_keys(self) -> set[str]:
        return {p.casefold() for p in self.processes}


@dataclass(frozen=True)
class Catalog:
    products: tuple[Product, ...]

    def for_platform(self, platform: str) -> list[Product]:
        return [p for p in self.products if platform in p.platforms]

    def by_securitycenter_name(self, display_name: str) -> Product | None:
        key = display_name.strip().casefold()
        for p in self.products:
            if key in {n.casefold() for n in p.securitycenter}:
                return p
        return None


@dataclass(frozen=True)
class Sighting:
    """A catalogue product seen on the machine, with what gave it away."""

    product: Product
    running: bool
    evidence: tuple[str, ...]


def _service_key(name: str) -> str:
    key = name.strip().casefold()
    return key.removesuffix(".service")


def match(
    catalog: Catalog,
    platform: str,
    services: Iterable[tuple[str, bool]],
    processes: Iterable[str],
) -> list[Sighting]:
    """Products whose services or processes are present.

    `services` is (name, running) pairs; `processes` is the image names of
    running processes. A product is running when one of its services runs or
    one of its processes is present.
    """
    svc: dict[str, bool] = {}
    for name, running in services:
        key = _service_key(name)
        svc[key] = svc.get(key, False) or running
    procs = {p.casefold() for p in processes if p}
    seen: list[Sighting] = []
    for product in catalog.for_platform(platform):
        evidence: list[str] = []
        running = False
        for key in sorted(product.service_keys() & set(svc)):
            evidence.append(f"service {key} {'running' if svc[key] else 'stopped'}")
            running = running or svc[key]
        for key in sorted(product.process_keys() & procs):
            evidence.append(f"process {key}")
            running = True
        if evidence:
            seen.append(Sighting(product, running, tuple(evidence)))
    return seen


# -- loading -----------------------------------------------------------------


def load_catalog(extra: Sequence[Path] = ()) -> Catalog:
    """The shipped catalogue, then each extra file in order (same id replaces)."""
    text = resources.files(__package__).joinpath("products.yaml").read_text(encoding="utf-8")
    by_id: dict[str, Product] = {}
    for product in _parse(text, "products.yaml (shipped)"):
        by_id[product.id] = product
    for path in extra:
        from itaudit.yamlfile import load_yaml

        for product in _products(load_yaml(path), str(path)):
            by_id[product.id] = product
    return Catalog(tuple(by_id.values()))


def _parse(text: str, source: str) -> list[Product]:
    from itaudit.yamlfile import loads_yaml

    return _products(loads_yaml(text, source), source)


def _products(doc: Any, source: str) -> list[Product]:
    problems: list[Problem] = []

    def line(obj: Any, key: Any = None) -> int | None:
        if key is not None and hasattr(obj, "line_of"):
            return obj.line_of(key)
        return getattr(obj, "line", None)

    if not isinstance(doc, dict):
        raise InputError(Problem(source, "a catalogue is a mapping with `format` and `products`"))
    if doc.get("format") != FORMAT:
        raise InputError(
            Problem(source, f"format must be {FORMAT!r}", line(doc, "format"), "format")
        )
    items = doc.get("products")
    if not isinstance(items, list):
        raise InputError(
            Problem(source, "products must be a list", line(doc, "products"), "products")
        )
    out: list[Product] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = line(items, index)
        field_prefix = f"products[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(source, "each product is a mapping", where, field_prefix))
            continue
        unknown = sorted(set(map(str, item)) - _FIELDS)
        if unknown:
            problems.append(
                Problem(source, f"unknown field(s): {', '.join(unknown)}", where, field_prefix)
            )
        before = len(problems)
        pid = _text(item, "id", source, where, field_prefix, problems)
        name = _text(item, "product", source, where, field_prefix, problems)
        kind = _choice(item, "kind", KINDS, source, line(item, "kind"), field_prefix, problems)
        confidence = item.get("confidence", "unknown")
        if confidence not in CONFIDENCE:
            problems.append(
                Problem(
                    source,
                    f"confidence must be one of {', '.join(CONFIDENCE)}",
                    line(item, "confidence"),
                    f"{field_prefix}.confidence",
                )
            )
        platforms = _names(
            item, "platforms", source, line(item, "platforms"), field_prefix, problems
        )
        for plat in platforms:
            if plat not in PLATFORMS:
                problems.append(
                    Problem(
                        source,
                        f"platform {plat!r} is not one of {', '.join(PLATFORMS)}",
                        line(item, "platforms"),
                        f"{field_prefix}.platforms",
                    )
                )
        services = _names(item, "services", source, line(item, "services"), field_prefix, problems)
        processes = _names(
            item, "processes", source, line(item, "processes"), field_prefix, problems
        )
        sc_names = _names(
            item, "securitycenter", source, line(item, "securitycenter"), field_prefix, problems
        )
        if not services and not processes and len(problems) == before:
            problems.append(
                Problem(
                    source,
                    "a product needs at least one service or process name",
                    where,
                    field_prefix,
                )
            )
        if pid and pid in seen:
            problems.append(Problem(source, f"duplicate id {pid!r}", where, f"{field_prefix}.id"))
        if len(problems) > before:
            continue
        seen.add(pid)
        out.append(
            Product(
                id=pid,
                product=name,
                kind=kind,
                vendor=str(item["vendor"])[:128] if item.get("vendor") else None,
                platforms=tuple(platforms),
                services=tuple(services),
                processes=tuple(processes),
                securitycenter=tuple(sc_names),
                confidence=confidence,
                source=str(item.get("source") or "")[:512],
                origin=f"{source}:{where}" if where else source,
            )
        )
    if problems:
        raise InputError(problems)
    return out


def _text(item: dict, key: str, source: str, where: Any, prefix: str, problems: list) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        problems.append(
            Problem(source, f"{key} must be a non-empty text", where, f"{prefix}.{key}")
        )
        return ""
    return value.strip()


def _choice(
    item: dict,
    key: str,
    choices: Sequence[str],
    source: str,
    where: Any,
    prefix: str,
    problems: list,
) -> str:
    value = item.get(key)
    if value not in choices:
        problems.append(
            Problem(source, f"{key} must be one of {', '.join(choices)}", where, f"{prefix}.{key}")
        )
        return ""
    return str(value)


def _names(item: dict, key: str, source: str, where: Any, prefix: str, problems: list) -> list[str]:
    value = item.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(Problem(source, f"{key} must be a list of names", where, f"{prefix}.{key}"))
        return []
    if len(value) > _MAX_NAMES:
        problems.append(
            Problem(source, f"{key}: at most {_MAX_NAMES} names", where, f"{prefix}.{key}")
        )
        return []
    return [v.strip() for v in value]
