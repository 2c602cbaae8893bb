"""The bundled sample register (the repository's own inventory/)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from itaudit.identity import normalise_serial
from itaudit.org import Organisation, load_organisation, validate_organisation
from itaudit.org.counts import UnitCounts, unit_counts

INVENTORY = Path(__file__).resolve().parents[2] / "inventory"
UNIT_IDS = [
    "ho",
    "dvvl",
    "tcn-miennui",
    "tcn-khuyettat",
    "cainghien1",
    "btxh1",
    "btxh2",
    "phcn-tamthan",
    "ctxh",
    "cainghien2",
    "dieuduong-ncc",
    "nghiatrang",
]


@pytest.fixture(scope="module")
def org() -> Organisation:
    return load_organisation(INVENTORY)


@pytest.fixture(scope="module")
def ho(org: Organisation) -> UnitCounts:
    return next(c for c in unit_counts(org) if c.unit.id == "ho")


def test_sample_has_no_errors_and_only_the_placeholder_serial_warnings() -> None:
    org, problems = validate_organisation(INVENTORY)
    assert org is not None
    assert [p for p in problems if p.severity == "error"] == []
    rows = {a.row: a.tag for a in org.assets}
    warned = {rows[p.line] for p in problems if p.source.endswith("assets.csv") and p.line}
    assert warned == {"TCNKT-PC-009", "CN1-PC-014", "BTXH2-PC-006"}
    assert [(p.field, p.severity) for p in problems] == [("serial", "warning")] * 3


def test_units_in_order_with_sample_flags(org: Organisation) -> None:
    assert [u.id for u in org.units] == UNIT_IDS
    assert org.sample is True
    assert [u.id for u in org.units if u.sample] == ["cainghien2", "dieuduong-ncc", "nghiatrang"]
    assert org.unit("ho").includes == ("Quỹ Bảo trợ trẻ em",)


def test_every_unit_is_approved_at_level_1_with_distinct_decisions(org: Organisation) -> None:
    approvals = [u.approval for u in org.units]
    assert all(a is not None and a.level == 1 for a in approvals)
    assert len({a.decision for a in approvals if a}) == 12
    assert all(a and a.date.year in (2022, 2023) for a in approvals)


def test_only_nghiatrang_was_assessed_more_than_two_years_before_the_drill(
    org: Organisation,
) -> None:
    # The team's last drill (2026-06-18) is a fixed reference date inside the sample.
    assert org.team is not None and org.team.last_drill is not None
    ref = org.team.last_drill
    old = [u.id for u in org.units if u.last_assessment and (ref - u.last_assessment).days > 730]
    assert old == ["nghiatrang"]


def test_head_office_figures_match_the_published_report(ho: UnitCounts) -> None:
    assert ho.unit.staff == 74
    assert (ho.desktops, ho.laptops, ho.workstations) == (71, 9, 80)
    assert ho.secret == 2
    assert (ho.servers_onsite, ho.servers_offsite) == (0, 3)
    assert ho.machines_per_staff == 108.1


def test_head_office_peripherals(org: Organisation) -> None:
    kinds = Counter(a.type for a in org.assets_of("ho"))
    assert kinds["projector"] == 4
    assert kinds["scanner"] == 5
    assert kinds["access-point"] == 13
    assert kinds["tablet"] == 4
    assert kinds["website"] == 1


def test_head_office_secret_machines_are_off_every_network(org: Organisation) -> None:
    secret = [a for a in org.assets if a.secret]
    assert [a.tag for a in secret] == ["HO-PC-070", "HO-PC-071"]
    assert all(a.lan == "forbidden" and a.ip is None for a in secret)


def test_head_office_servers_are_hosted_off_site(org: Organisation) -> None:
    servers = [a for a in org.assets_of("ho") if a.type == "server"]
    assert [a.hostname for a in servers] == ["HO-SRV01", "HO-SRV02", "HO-SRV03"]
    assert all(a.hosted_offsite and a.lan == "none" for a in servers)
    assert sorted(a.platform for a in servers) == ["linux", "windows", "windows"]


def test_scanner_disagreement_is_noted(org: Organisation) -> None:
    notes = " ".join(a.notes or "" for a in org.assets_of("ho") if a.type == "scanner")
    assert "1 + 2 + 2" in notes


def test_websites_and_trust_labels(org: Organisation) -> None:
    sites = {a.unit: a.trust_label for a in org.assets if a.type == "website"}
    assert sites == {
        "ho": "granted",
        "dvvl": "granted",
        "tcn-miennui": "granted",
        "btxh1": "granted",
        "ctxh": "granted",
        "cainghien2": "pending",
    }


def test_every_computer_has_a_hostname_inside_its_unit_code(org: Organisation) -> None:
    computers = [a for a in org.assets if a.is_computer]
    assert all(a.hostname for a in computers)
    assert all(a.hostname.split("-")[0] == a.tag.split("-")[0] for a in computers)


def test_every_mac_is_unique_and_universally_administered() -> None:
    with (INVENTORY / "assets.csv").open(encoding="utf-8-sig", newline="") as fh:
        macs = [row["mac"] for row in csv.DictReader(fh) if row["mac"]]
    assert len(macs) > 300
    assert len(set(macs)) == len(macs)
    for mac in macs:
        assert mac == mac.lower()
        first = int(mac.split(":")[0], 16)
        assert first & 0x01 == 0, mac  # unicast
        assert first & 0x02 == 0, mac  # universally administered


def test_assets_csv_is_written_as_excel_does() -> None:
    raw = (INVENTORY / "assets.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfasset_tag,type,unit,")


def test_serials_are_unique_apart_from_the_three_placeholders(org: Organisation) -> None:
    serials = [normalise_serial(a.serial) for a in org.assets if a.is_computer]
    real = [s for s in serials if s]
    assert len(serials) - len(real) == 3
    assert len(set(real)) == len(real)


def test_team_has_twenty_members_one_lead_one_deputy_lead(org: Organisation) -> None:
    team = org.team
    assert team is not None
    assert [m.id for m in team.members] == [f"m{i:02d}" for i in range(1, 21)]
    roles = Counter(m.role for m in team.members)
    assert roles == {"lead": 1, "deputy_lead": 1, "member": 18}
    assert team.lead().title == "Chánh Văn phòng Sở"
    assert team.deputy_lead().name == org.unit("ho").it_contact.name
    assert all(m.phone for m in team.members)
    assert all(team.member(m.deputy) for m in team.members)
