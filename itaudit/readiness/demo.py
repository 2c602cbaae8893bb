"""Demo stage: readiness for the next holiday after the demo's today, and the notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import yaml


def stage_readiness(run: Any) -> None:
    """Evaluate readiness for the next holiday, write the HTML view and the draft notice.

    The demo goes on (exit 0) on NO-GO: it is a demonstration; the planted
    blockers are listed in itaudit/demo/defects.yaml (readiness_blockers).
    """
    from itaudit.profiles import load_profiles
    from itaudit.readiness.calendar import next_holiday
    from itaudit.readiness.evaluate import evaluate_readiness
    from itaudit.readiness.notice import write_notice
    from itaudit.readiness.roster import ROSTER_FILE, load_roster
    from itaudit.readiness.view import render_html, span_text
    from itaudit.report.render import write_html

    org = run.org
    # The department's today: the demo's time in the machine's local time zone.
    today = run.now.astimezone().date()
    holiday = next_holiday(today, org)
    profiles = load_profiles(run.workspace.profiles, run.workspace.inventory)
    roster_path = run.workspace.inventory / ROSTER_FILE
    roster = load_roster(roster_path, org.team) if roster_path.is_file() else None
    result = evaluate_readiness(run.store, org, profiles, holiday, today, roster=roster)
    run.results["readiness"] = result
    stem = f"readiness-{holiday.ident()}"
    html = write_html(run.workspace.reports / f"{stem}.html", render_html(result, "vi"))
    docx, md = write_notice(result, org, run.workspace.reports, "vi", stem)
    go = sum(1 for u in result.units if u.verdict == "GO")
    run.echo(
        f"Readiness: {holiday.name_en} ({span_text(result, 'en')}, in {result.days_remaining} day(s)): "
        f"{result.verdict}, {len(result.blockers)} blocker(s); {go}/{len(result.units)} units GO; "
        f"team: {len(result.team)} blocker(s)"
    )
    for item in result.items:
        if item.blockers:
            run.echo(f"  {item.key:<12} {item.blockers:>3} blocker(s): {item.title('en')}")
    run.outputs.append(("Holiday readiness (HTML)", html))
    run.outputs.append(("Draft holiday notice (DOCX)", docx))
    run.outputs.append(("Draft holiday notice (Markdown)", md))


@dataclass(frozen=True)
class PlantedBlocker:
    item: str
    unit: str | None
    subject: str | None
    rule: str | None
    problem: str | None  # words the English problem text must contain
    source: str


@dataclass(frozen=True)
class ReadinessPlants:
    """defects.yaml `readiness_blockers:`: what readiness must find on the demo data."""

    today: date
    holiday: str
    units_go: tuple[str, ...]
    blockers: tuple[PlantedBlocker, ...]


def load_readiness_plants() -> ReadinessPlants:
    text = resources.files("itaudit.demo").joinpath("defects.yaml").read_text(encoding="utf-8")
    section = yaml.safe_load(text)["readiness_blockers"]
    return ReadinessPlants(
        today=section["today"],
        holiday=section["holiday"],
        units_go=tuple(section["units_go"]),
        blockers=tuple(
            PlantedBlocker(
                b["item"],
                b.get("unit"),
                None if b.get("subject") is None else str(b["subject"]),
                b.get("rule"),
                b.get("problem"),
                b.get("from", ""),
            )
            for b in section["blockers"]
        ),
    )
