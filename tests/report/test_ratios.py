"""`itaudit.ratios` on the bundled register: the published head-office figure,
the LAN denominator without state-secret machines, and discrepancies that equal
counts would hide. No store: the tally and the scan state are given directly."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from itaudit.check.results import CheckRun
from itaudit.org import load_organisation
from itaudit.org.counts import unit_counts
from itaudit.ratios import LanState, Ratio, Tally, total_ratios, unit_ratios
from itaudit.report.tables import discrepancy_text
from itaudit.workspace import sample_root


@pytest.fixture(scope="module")
def org():
    return load_organisation(sample_root() / "inventory")


def _counts(org, unit_id):
    return next(c for c in unit_counts(org) if c.unit.id == unit_id)


def _seen(org, unit_id, *, skip=()):
    """A scan that saw every computer of the unit (state-secret ones too) but `skip`."""
    tags = frozenset(a.tag for a in org.assets_of(unit_id) if a.is_computer and a.tag not in skip)
    return LanState(scan_id=1, scanned_at=None, seen_tags=tags, unknown=0, forbidden=0)


def _run() -> CheckRun:
    """A stored run's header with no results: the discrepancies need only "a run exists"."""
    at = datetime(2026, 11, 23, 8, 0)
    return CheckRun(
        id=1,
        started_at=at,
        finished_at=at,
        checked_at=at,
        status="complete",
        scope_unit=None,
        scope_host=None,
        framework=None,
        run_by=None,
        itaudit_version=None,
        method=2,
        subjects=0,
        units=(),
        totals=None,
        rules={},
        profiles={},
        waivers=(),
        attestations=(),
        timings={},
    )


def test_head_office_machines_per_staff_is_the_published_figure(org):
    ho = unit_ratios(_counts(org, "ho"), org, None, Tally(), None)
    assert ho.machines_per_staff == Ratio(80, 74)
    assert ho.machines_per_staff.percent == 108.1
    assert (ho.counts.workstations, ho.counts.laptops) == (80, 9)
    assert (ho.counts.servers_onsite, ho.counts.servers_offsite) == (0, 3)


def test_department_total_sums_numerators_and_denominators(org):
    units = [unit_ratios(c, org, None, Tally(), None) for c in unit_counts(org)]
    total = total_ratios(org, units)
    assert total.machines_per_staff == Ratio(
        sum(u.counts.workstations for u in units), sum(u.staff for u in units)
    )
    assert total.staff == sum(u.staff for u in org.units) == 469


def test_lan_coverage_never_counts_state_secret_machines(org):
    secret = [a for a in org.assets_of("ho") if a.secret]
    assert len(secret) == 2
    expected = [
        a for a in org.assets_of("ho") if a.is_computer and a.lan == "expected" and not a.secret
    ]
    # The scan saw the secret machines too (one is a planted defect): not in the figure.
    lan = unit_ratios(_counts(org, "ho"), org, None, Tally(), _seen(org, "ho")).lan
    assert lan == Ratio(len(expected), len(expected))
    # Even marked "expected on the LAN", a state-secret machine stays out of the denominator...
    marked = replace(
        org, assets=tuple(replace(a, lan="expected") if a.secret else a for a in org.assets)
    )
    lan = unit_ratios(_counts(marked, "ho"), marked, None, Tally(), _seen(marked, "ho")).lan
    assert lan == Ratio(len(expected), len(expected))
    # ...while an ordinary machine marked so enters it, and counts as missing when unseen.
    laptop = next(a for a in org.assets_of("ho") if a.type == "laptop")
    marked = replace(
        org, assets=tuple(replace(a, lan="expected") if a is laptop else a for a in org.assets)
    )
    scan = _seen(marked, "ho", skip={laptop.tag})
    lan = unit_ratios(_counts(marked, "ho"), marked, None, Tally(), scan).lan
    assert lan == Ratio(len(expected), len(expected) + 1)


def test_equal_counts_with_different_machines_are_a_discrepancy(org):
    """80 registered, 80 reporting: one of them is not in the register and one register
    workstation never reports. The counts agree; the sources do not."""
    counts = _counts(org, "ho")
    absent = next(a for a in org.assets_of("ho") if a.type == "workstation")
    tally = Tally(
        registered_reporting={"ho": 79},
        reporting_by_type={"ho": {"workstation": 71, "laptop": 9, "server": 3}},
        unregistered={"ho": ["DESKTOP-NEW01"]},
        never_reported={"ho": [absent.tag]},
        unregistered_by_item={"ho": {"workstations": ["DESKTOP-NEW01"]}},
        never_by_item={"ho": {"workstations": [absent.tag]}},
    )
    ho = unit_ratios(counts, org, _run(), tally, None)
    ws = [d for d in ho.discrepancies if d.item == "workstations"]
    assert len(ws) == 1
    d = ws[0]
    assert (d.register, d.agents) == (80, 80)
    assert d.unregistered == ("DESKTOP-NEW01",) and d.never_reported == (absent.tag,)
    text = discrepancy_text(d, "vi")
    assert "gửi báo cáo nhưng không có trong sổ: DESKTOP-NEW01" in text
    assert f"có trong sổ nhưng chưa gửi báo cáo: {absent.tag}" in text
    assert not [d for d in ho.discrepancies if d.item == "servers"]


def test_register_count_findings_become_discrepancies(org):
    ho = unit_ratios(
        _counts(org, "ho"),
        org,
        None,
        Tally(),
        None,
        [{"type": "projector", "registered": 4, "seen": 5}],
    )
    (d,) = ho.discrepancies
    assert (d.item, d.register, d.scan, d.kind) == ("projector", 4, 5, "register-vs-scan")
    assert discrepancy_text(d, "vi") == "Sổ tài sản ghi 4 máy chiếu; quét mạng thấy 5"
    assert discrepancy_text(d, "en") == "The register lists 4 of type projector; the scan saw 5"
