"""The antivirus / EDR catalogue: products recognised by service and process names.

The data lives in `products.yaml` beside this module; an officer extends it
with files of the same shape (`--catalog FILE`, or the workspace's
`inventory/security-products.yaml`). An entry whose id already exists replaces
the earlier one, so a site can correct a shipped entry without editing it.
Names match exactly (case-insensitive), never by substring.

Two additions serve the officer rather than recognition:
- `management:` per product names the services / processes of the product's
  management agent (Kaspersky Network Agent, ESET Management Agent...): seen
  running, the product reports to its console (L1-AV-04);
- `watch:` per file lists vendor keywords; a service or process whose name
  holds one and that no product claims is reported as a security product the
  catalogue does not know yet (`itaudit catalog unknown`). Only this list is
  matched by substring, and only to *surface* a name, never to recognise one.
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
    "management",
}
_MANAGEMENT_FIELDS = {"services", "processes", "console", "confidence", "source"}
_MAX_NAMES = 64
_MAX_WATCH = 256


@dataclass(frozen=True)
class Management:
    """How a machine shows that the product reports to its central console."""

    services: tuple[str, ...]
    processes: tuple[str, ...]
    console: str | None
    confidence: str
    source: str


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
    management: Management | None = None

    def service_keys(self) -> set[str]:
        return {_service_key(s) for s in self.services}

    def process_keys(self) -> set[str]:
        return {p.casefold() for p in self.processes}


@dataclass(frozen=True)
class Catalog:
    products: tuple[Product, ...]
    watch: tuple[str, ...] = ()  # lower-case vendor keywords (see the module docstring)

    def for_platform(self, platform: str) -> list[Product]:
        return [p for p in self.products if platform in p.platforms]

    def knows_name(self, name: str) -> bool:
        """Whether any product lists `name` as a service, process or Security Center name."""
        key = _service_key(name)
        folded = name.strip().casefold()
        for p in self.products:
            if key in p.service_keys() or folded in p.process_keys():
                return True
            if folded in {n.casefold() for n in p.securitycenter}:
                return True
            m = p.management
            if m and (
                key in {_service_key(x) for x in m.services}
                or folded in {x.casefold() for x in m.processes}
            ):
                return True
        return False

    def watched(self, *names: str | None) -> str | None:
        """The first watch keyword contained in one of `names` (case-insensitive), or None."""
        for name in names:
            low = (name or "").casefold()
            if not low:
                continue
            for word in self.watch:
                at = low.find(word)
                while at >= 0:
                    # At the start of a word only: "eset" must not match "ResetEngine".
                    if at == 0 or not low[at - 1].isalpha():
                        return word
                    at = low.find(word, at + 1)
        return None

    def by_id(self, product_id: str) -> Product | None:
        return next((p for p in self.products if p.id == product_id), None)

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
    svc = service_states(services)
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
    from itaudit.yamlfile import load_yaml, loads_yaml

    text = resources.files(__package__).joinpath("products.yaml").read_text(encoding="utf-8")
    source = "products.yaml (shipped)"
    doc = loads_yaml(text, source)
    by_id: dict[str, Product] = {}
    watch: dict[str, None] = dict.fromkeys(_watch(doc, source))
    for product in _products(doc, source):
        by_id[product.id] = product
    for path in extra:
        doc = load_yaml(path)
        for product in _products(doc, str(path)):
            by_id[product.id] = product
        watch.update(dict.fromkeys(_watch(doc, str(path))))
    return Catalog(tuple(by_id.values()), tuple(watch))


def _watch(doc: Any, source: str) -> list[str]:
    """The file's `watch:` keywords, lower-cased (at least 3 characters: "av" would match anything)."""
    value = doc.get("watch") if isinstance(doc, dict) else None
    if value is None:
        return []
    line = doc.line_of("watch") if hasattr(doc, "line_of") else None
    if (
        not isinstance(value, list)
        or len(value) > _MAX_WATCH
        or not all(isinstance(v, str) and len(v.strip()) >= 3 for v in value)
    ):
        raise InputError(
            Problem(
                source,
                f"watch must be a list of at most {_MAX_WATCH} keywords of 3 characters or more",
                line,
                "watch",
            )
        )
    return [v.strip().casefold() for v in value]


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
        management = _management(item, source, line, field_prefix, problems)
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
                management=management,
            )
        )
    if problems:
        raise InputError(problems)
    return out


def _management(
    item: dict, source: str, line: Any, prefix: str, problems: list
) -> Management | None:
    node = item.get("management")
    if node is None:
        return None
    where = line(item, "management")
    field = f"{prefix}.management"
    if not isinstance(node, dict):
        problems.append(Problem(source, "management must be a mapping", where, field))
        return None
    unknown = sorted(set(map(str, node)) - _MANAGEMENT_FIELDS)
    if unknown:
        problems.append(Problem(source, f"unknown field(s): {', '.join(unknown)}", where, field))
    before = len(problems)
    services = _names(node, "services", source, where, field, problems)
    processes = _names(node, "processes", source, where, field, problems)
    if not services and not processes and len(problems) == before:
        problems.append(Problem(source, "management needs a service or process name", where, field))
    confidence = node.get("confidence", "unknown")
    if confidence not in CONFIDENCE:
        problems.append(
            Problem(
                source,
                f"confidence must be one of {', '.join(CONFIDENCE)}",
                where,
                f"{field}.confidence",
            )
        )
    if len(problems) > before:
        return None
    console = node.get("console")
    return Management(
        services=tuple(services),
        processes=tuple(processes),
        console=str(console)[:256] if console else None,
        confidence=confidence,
        source=str(node.get("source") or "")[:512],
    )


def managed(product: Product, services: dict[str, bool], processes: set[str]) -> bool | None:
    """Whether the product's management agent is seen running.

    `services` maps service keys (see `service_states`) to running; `processes`
    holds case-folded image names. None when the catalogue names no management
    agent for the product: the machine cannot show it (L1-AV-04 then takes the
    unit's attestation).
    """
    m = product.management
    if m is None:
        return None
    if any(services.get(_service_key(s)) for s in m.services):
        return True
    return any(p.casefold() in processes for p in m.processes)


def service_states(services: Iterable[tuple[str, bool]]) -> dict[str, bool]:
    """Service key -> running (a name listed twice runs if either entry runs)."""
    out: dict[str, bool] = {}
    for name, running in services:
        key = _service_key(name)
        out[key] = out.get(key, False) or running
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
