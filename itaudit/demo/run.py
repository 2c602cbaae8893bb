"""`itaudit demo`: the whole chain on the bundled sample department.

The demo is a list of stages; each later capability (check, scan, reports,
readiness) adds its stage to STAGES, so the demo always shows everything the
product can do and nothing it cannot.
"""

from __future__ import annotations

import importlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from itaudit.errors import UsageError
from itaudit.org import load_organisation, validate_organisation
from itaudit.org.model import Organisation
from itaudit.store import Store
from itaudit.store import tables as t
from itaudit.workspace import Workspace, init_workspace

# "module:function" run in order; each takes a DemoRun.
STAGES: list[str] = [
    "itaudit.demo.run:stage_register",
    "itaudit.demo.run:stage_generate",
    "itaudit.demo.run:stage_ingest",
    "itaudit.demo.lan:stage_scan",
    "itaudit.check.demo:stage_attestations",
    "itaudit.check.demo:stage_check",
    "itaudit.report.demo:stage_reports",
    "itaudit.readiness.demo:stage_readiness",
]

REPORTS_DIR = Path("reports") / "demo-agent-reports"
# The Windows machines' collector bundles (the folders collect.ps1 writes), one per machine.
BUNDLES_DIR = Path("reports") / "demo-bundles"


@dataclass
class DemoRun:
    workspace: Workspace
    store: Store
    now: datetime
    echo: Callable[[str], None]
    org: Organisation | None = None
    outputs: list[tuple[str, Path]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)  # what stages pass on to later ones
    timings: list[tuple[str, float]] = field(default_factory=list)


def ensure_demo_store(store: Store) -> None:
    """Refuse to mix sample reports into a store that holds real ones."""
    with store.read() as conn:
        real = conn.execute(
            sa.select(sa.func.count()).select_from(t.reports).where(t.reports.c.collector != "demo")
        ).scalar_one()
    if real:
        raise UsageError(
            f"the store {store.url} holds {real} real report(s); run the demo in its own workspace "
            "(itaudit demo --workspace DIR) so sample machines never mix with yours"
        )


def stage_register(run: DemoRun) -> None:
    org, problems = validate_organisation(run.workspace.inventory)
    errors = [p for p in problems if p.severity == "error"]
    if errors or org is None:
        raise UsageError(
            "the sample register has errors:\n" + "\n".join(map(str, errors or problems))
        )
    run.org = org
    computers = sum(1 for a in org.assets if a.is_computer)
    warnings = len(problems)
    run.echo(
        f"Register: {len(org.units)} units, {len(org.assets)} assets ({computers} computers), "
        f"{len(org.team.members) if org.team else 0} incident-response members"
        + (f"; {warnings} warning(s), see `itaudit org validate`" if warnings else "")
    )


def stage_generate(run: DemoRun) -> None:
    from itaudit.demo.generate import generate, load_defects

    assert run.org is not None
    folder = run.workspace.root / REPORTS_DIR
    bundles = run.workspace.root / BUNDLES_DIR
    for old in (folder, bundles):
        if old.exists():
            shutil.rmtree(old)
    folder.mkdir(parents=True)
    bundles.mkdir(parents=True)
    defects = load_defects()
    count = 0
    for name, doc in generate(run.org, now=run.now, defects=defects, bundles=bundles):
        (folder / name).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        count += 1
    run.results["defects"] = defects
    run.results["bundles"] = sum(1 for _ in bundles.iterdir())
    run.echo(
        f"Agent reports: generated {count} sample reports with {len(defects)} planted defects in {folder}"
    )
    run.echo(
        f"  Windows machines: {run.results['bundles']} collector bundles in {bundles}, "
        "parsed by the code of `itaudit agent parse`"
    )


def stage_ingest(run: DemoRun) -> None:
    from itaudit.ingest import ingest_paths
    from itaudit.org.matching import RegisterIndex

    summary = ingest_paths(
        run.store, RegisterIndex(run.org), [str(run.workspace.root / REPORTS_DIR)]
    )
    run.results["ingest"] = summary
    hosts = run.store.hosts()
    matched = sum(1 for h in hosts if h.asset_tag)
    run.echo(
        f"Ingest: {summary.accepted} accepted, {summary.duplicates} duplicate, {summary.rejected} rejected; "
        f"store holds {len(hosts)} hosts ({matched} matched to the register)"
    )
    for outcome in summary.outcomes:
        if outcome.status == "rejected":
            run.echo(f"  rejected {outcome.source}: {outcome.reason}")


def run_demo(
    workspace: Workspace, store: Store, echo: Callable[[str], None], now: datetime | None = None
) -> DemoRun:
    init_workspace(workspace.root)
    ensure_demo_store(store)
    run = DemoRun(workspace=workspace, store=store, now=now or datetime.now(UTC), echo=echo)
    for target in STAGES:
        module_name, func = target.split(":")
        started = time.perf_counter()
        getattr(importlib.import_module(module_name), func)(run)
        run.timings.append((func.removeprefix("stage_"), time.perf_counter() - started))
    if run.org is None:
        run.org = load_organisation(workspace.inventory)
    return run
