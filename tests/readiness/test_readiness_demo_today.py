"""`itaudit demo` assesses the next holiday after the day it runs.

On 30/11/2026 that is New Year 2027 (31/12 is a working day, 01/01 to 03/01 are
off): the machines' and units' planted blockers are the same as for 24/11, the
sample roster's planted gap (nobody on 02/01/2027) is found, and the servers'
backups, verified two days before, are recorded for 31 days only, so they expire
before the holiday ends. HO-SRV-002, whose backup is too old already, is named
once (backups), not a second time for its expiry.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from itaudit.demo.run import run_demo
from itaudit.readiness.calendar import next_holiday
from itaudit.readiness.demo import load_readiness_plants
from itaudit.store import open_store
from itaudit.workspace import Workspace

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
PLANTS = load_readiness_plants()
EXPIRING_BACKUPS = (
    ("ho", "HO-SRV-001"),
    ("ho", "HO-SRV-003"),
    ("dvvl", "DVVL-SRV-001"),
    ("tcn-miennui", "TCNMN-SRV-001"),
)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-today")
    store = open_store(f"sqlite:///{folder / 'store.db'}")
    try:
        run = run_demo(Workspace(folder / "ws"), store, lambda _text: None, now=NOW)
    finally:
        store.close()
    return run.results["readiness"]


def test_the_demo_assesses_new_year_2027(result) -> None:
    assert result.today == date(2026, 11, 30)
    assert result.holiday.ident() == "new-year-2027"
    assert (result.holiday.start, result.holiday.end) == (date(2027, 1, 1), date(2027, 1, 3))
    assert result.days_remaining == 32


def test_every_planted_blocker_and_no_other(result) -> None:
    found = Counter((b.item, b.unit, b.asset_tag or b.subject, b.rule) for b in result.blockers)
    expected = Counter(
        (p.item, p.unit, p.subject, p.rule) for p in PLANTS.blockers if p.item != "roster"
    )
    expected.update(("expiries", unit, tag, "L1-MGT-08") for unit, tag in EXPIRING_BACKUPS)
    expected[("roster", None, "2027-01-02", None)] += 1
    assert found - expected == Counter(), "blockers the demo data does not plant"
    assert expected - found == Counter(), "planted blockers readiness missed"
    assert {u.unit for u in result.units if u.verdict == "GO"} == set(PLANTS.units_go)


def test_the_roster_gap_is_named(result) -> None:
    (b,) = result.team
    assert b.problem.en == "Nobody on duty on 2027-01-02"
    assert b.problem.vi == "Ngày 02/01/2027 không có người trực"


def test_an_old_backup_is_one_blocker_not_two(result) -> None:
    server = [b for b in result.blockers if b.asset_tag == "HO-SRV-002"]
    assert [b.item for b in server] == ["backups"]


def test_the_real_demo_command_uses_today(tmp_path, run_cli) -> None:
    """Whatever the day, `itaudit demo` reports on the next holiday from it."""
    result = run_cli("demo", "-w", str(tmp_path / "ws"), timeout=180)
    assert result.returncode == 0, result.output  # NO-GO does not fail the demo
    holiday = next_holiday(date.today())
    assert f"Readiness: {holiday.name_en} (" in result.stdout
    reports = tmp_path / "ws" / "reports"
    for name in ("", "-notice"):
        for ext in ("html",) if not name else ("docx", "md"):
            assert (reports / f"readiness-{holiday.ident()}{name}.{ext}").stat().st_size > 1000
