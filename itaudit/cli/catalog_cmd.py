"""`itaudit catalog list | unknown | add`: the antivirus / EDR catalogue of the workspace."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import click

from itaudit.cli.common import Env, Format, emit_rows, format_option, pass_env, workspace_options
from itaudit.errors import InputError, UsageError

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@click.group()
def catalog() -> None:
    """The antivirus / EDR catalogue: the shipped products plus the workspace's own
    (inventory/security-products.yaml).

    \b
    itaudit catalog list                      every product and how it is recognised
    itaudit catalog unknown [--unit U]        security products seen on the fleet that no entry knows
    itaudit catalog add --from-seen "Bkav Endpoint" --kind av --service BkavEpSvc
    """


@catalog.command("list")
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def list_(env: Env, fmt: str) -> None:
    """Every catalogue product: names it is recognised by, its management signal, its origin."""
    from itaudit.check.unknown_products import workspace_catalog

    rows = []
    for p in workspace_catalog(env.workspace.root).products:
        m = p.management
        rows.append(
            {
                "id": p.id,
                "product": p.product,
                "kind": p.kind,
                "vendor": p.vendor,
                "platforms": list(p.platforms),
                "services": list(p.services),
                "processes": list(p.processes),
                "securitycenter": list(p.securitycenter),
                "management": (list(m.services) + list(m.processes)) if m else [],
                "console": m.console if m else None,
                "confidence": p.confidence,
                "origin": p.origin,
            }
        )
    cols = ["id", "product", "kind", "services", "processes", "management", "confidence", "origin"]
    if fmt == Format.TABLE:
        rows = [{k: ", ".join(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
    emit_rows(rows, fmt, cols if fmt == Format.TABLE else list(rows[0]) if rows else cols)


@catalog.command("unknown")
@click.option("--unit", "-u", metavar="UNIT", help="Only this unit's machines.")
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def unknown(env: Env, unit: str | None, fmt: str) -> None:
    """Security products seen on the fleet that the catalogue does not know, with the machines.

    Seen: Security Center registrations no entry lists, and services or processes
    named like a security vendor's (the catalogue's `watch:` keywords) that no
    entry claims, in each machine's latest report. Add one with `itaudit catalog
    add --from-seen NAME --kind av|edr`.
    """
    from itaudit.check.unknown_products import unknown_products, workspace_catalog

    if unit is not None and env.org().unit(unit) is None:
        raise UsageError(f"unknown unit {unit!r}")
    found = unknown_products(env.store(), workspace_catalog(env.workspace.root), unit=unit)
    rows = [p.as_dict() for p in found]
    if fmt == Format.TABLE:
        if not rows:
            click.echo("Every security product seen on the fleet is in the catalogue.")
            return
        for row in rows:
            row["hosts"] = ", ".join(row["hosts"][:5]) + (
                f", +{row['machines'] - 5}" if row["machines"] > 5 else ""
            )
        emit_rows(
            rows, fmt, ["name", "source", "keyword", "machines", "running_on", "hosts", "add"]
        )
        return
    emit_rows(rows, fmt, list(rows[0]) if rows else ["name", "source", "machines", "hosts"])


@catalog.command("add")
@click.option(
    "--from-seen",
    "seen",
    multiple=True,
    metavar="NAME",
    help="A name `itaudit catalog unknown` lists (repeatable): it goes to the entry's "
    "Security Center names, services or processes as it was seen.",
)
@click.option("--kind", type=click.Choice(["av", "edr"]), required=True, help="av or edr.")
@click.option("--id", "product_id", metavar="ID", help="Entry id [default: from the name].")
@click.option(
    "--product", metavar="NAME", help="Name shown in reports [default: the first seen name]."
)
@click.option("--vendor", metavar="NAME", help="Publisher.")
@click.option(
    "--service", "services", multiple=True, metavar="NAME", help="A service name (repeatable)."
)
@click.option(
    "--process",
    "processes",
    multiple=True,
    metavar="NAME",
    help="A process image name (repeatable).",
)
@click.option(
    "--securitycenter",
    "sc_names",
    multiple=True,
    metavar="NAME",
    help="A Security Center display name.",
)
@click.option(
    "--management-service",
    "mgmt_services",
    multiple=True,
    metavar="NAME",
    help="A service of the product's management agent: running, the product reports to its console.",
)
@click.option(
    "--management-process",
    "mgmt_processes",
    multiple=True,
    metavar="NAME",
    help="A process of the product's management agent (repeatable).",
)
@click.option("--console", metavar="NAME", help="The management console's name.")
@click.option(
    "--confidence",
    type=click.Choice(["high", "medium", "low", "unknown"]),
    default="medium",
    show_default=True,
    help="How sure the names are.",
)
@click.option(
    "--source", metavar="TEXT", help="Where the names come from [default: the machines seen]."
)
@workspace_options
@pass_env
def add(
    env: Env,
    seen: tuple[str, ...],
    kind: str,
    product_id: str | None,
    product: str | None,
    vendor: str | None,
    services: tuple[str, ...],
    processes: tuple[str, ...],
    sc_names: tuple[str, ...],
    mgmt_services: tuple[str, ...],
    mgmt_processes: tuple[str, ...],
    console: str | None,
    confidence: str,
    source: str | None,
) -> None:
    """Add a product to the workspace catalogue (inventory/security-products.yaml).

    \b
    itaudit catalog add --from-seen "Bkav Endpoint" --from-seen BkavEpSvc --kind av --vendor Bkav
    Then parse the bundles again (`itaudit agent parse`) so the machines' reports
    recognise it; `itaudit catalog unknown` stops listing it at once.
    """
    from itaudit.check.unknown_products import (
        WORKSPACE_CATALOG,
        unknown_products,
        workspace_catalog,
    )

    path = env.workspace.root / WORKSPACE_CATALOG
    current = workspace_catalog(env.workspace.root)
    sc, svc, proc = list(sc_names), list(services), list(processes)
    hosts: set[str] = set()
    if seen:
        found = {p.name.casefold(): p for p in unknown_products(env.store(), current)}
        for name in seen:
            match = found.get(name.casefold())
            if match is None:
                raise UsageError(
                    f"{name!r} is not among the unknown products seen (see `itaudit catalog unknown`)"
                )
            {"securitycenter": sc, "service": svc, "process": proc}[match.source].append(match.name)
            hosts.update(match.hosts)
    if not (svc or proc):
        raise UsageError(
            "a product needs a service or process name: add --from-seen of a service or process, "
            "or --service / --process (a Security Center name alone cannot confirm it runs)"
        )
    name = product or (seen[0] if seen else svc[0] if svc else proc[0])
    pid = product_id or re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:64]
    if not _ID.match(pid):
        raise UsageError(f"--id {pid!r}: letters, digits and dashes only")
    if current.by_id(pid) is not None and not product_id:
        raise UsageError(f"the catalogue already has {pid!r}: give --id to replace it on purpose")
    when = date.today().isoformat()
    entry: dict[str, Any] = {
        "id": pid,
        "product": name,
        "kind": kind,
        "vendor": vendor,
        "platforms": ["windows"],
        "services": _unique(svc),
        "processes": _unique(proc),
        "securitycenter": _unique(sc),
        "confidence": confidence,
        "source": source
        or (
            f"seen on {', '.join(sorted(hosts)[:5])} (itaudit catalog add, {when})"
            if hosts
            else f"itaudit catalog add, {when}"
        ),
    }
    if mgmt_services or mgmt_processes:
        entry["management"] = {
            "services": _unique(list(mgmt_services)),
            "processes": _unique(list(mgmt_processes)),
            "console": console,
            "confidence": confidence,
            "source": entry["source"],
        }
    text = _append(path, entry)
    _check(path, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    click.echo(f"{pid}: added to {path}. Parse the bundles again so the reports recognise it.")


def _unique(names: list[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        if n.strip() and n.strip().casefold() not in {o.casefold() for o in out}:
            out.append(n.strip())
    return out


def _append(path: Path, entry: dict[str, Any]) -> str:
    """The file with the entry added at the end; the officer's comments and layout stay."""
    import yaml

    block = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=100)
    block = "".join(f"  {line}\n" for line in block.splitlines())
    if not path.is_file():
        return (
            "# Security products of this workspace, added to the shipped catalogue\n"
            "# (docs/agent.md, 'The antivirus / EDR catalogue'). Same shape as\n"
            "# itaudit/agent/products.yaml; an entry with a shipped id replaces it.\n"
            "format: itaudit-security-products/1\nproducts:\n" + block
        )
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    return text + block


def _check(path: Path, text: str) -> None:
    """Refuse to write a file the loader would reject, or one whose new entry got lost."""
    import tempfile

    from itaudit.agent.catalog import load_catalog

    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / path.name
        probe.write_text(text, encoding="utf-8")
        try:
            before = len(load_catalog([path]).products) if path.is_file() else None
            after = load_catalog([probe]).products
        except InputError as exc:
            raise UsageError(
                f"{path}: the entry could not be added ({exc}); add it by hand (docs/agent.md)"
            ) from exc
    if before is not None and len(after) < before:
        raise UsageError(f"{path}: the entry could not be appended; add it by hand (docs/agent.md)")
