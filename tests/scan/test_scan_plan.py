"""Planning a scan from the request and the register (no nmap, no store)."""

from __future__ import annotations

import pytest

from itaudit.errors import UsageError
from itaudit.scan.ports import PORTS_FILE, load_catalogue
from itaudit.scan.run import ScanRequest, current_user, plan_scans
from itaudit.scan.targets import TargetError
from itaudit.workspace import sample_root


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(sample_root() / "profiles" / PORTS_FILE)


def _plan(org, catalogue, privileged=True, **request):
    return plan_scans(ScanRequest(**request), org, catalogue, privileged)


def test_targets_inside_one_unit_are_reconciled_with_it(sample_org, catalogue):
    (plan,) = _plan(sample_org, catalogue, targets=("10.38.1.0/25",))
    assert plan.unit.id == "ho"
    assert 9100 in plan.ports.ports  # the head office's tailored list
    assert plan.note is None


def test_targets_spanning_units_have_no_unit_and_say_why(sample_org, catalogue):
    (plan,) = _plan(sample_org, catalogue, targets=("10.38.16.0/24", "10.38.17.0/24"))
    assert plan.unit is None
    assert "span units dvvl, tcn-miennui" in plan.note


def test_targets_outside_every_unit(sample_org, catalogue):
    (plan,) = _plan(sample_org, catalogue, targets=("192.168.50.0/24",))
    assert plan.unit is None and "outside every unit" in plan.note


def test_no_targets_means_each_units_subnets(sample_org, catalogue):
    plans = _plan(sample_org, catalogue)
    assert [p.unit.id for p in plans] == [u.id for u in sample_org.units]
    assert plans[0].targets.key == "10.38.0.0/23"


def test_an_unknown_unit_is_refused(sample_org, catalogue):
    with pytest.raises(
        UsageError, match=r"unknown unit 'nowhere'; units of organization\.yaml: ho,"
    ):
        _plan(sample_org, catalogue, unit="nowhere")


def test_a_mistyped_unit_gets_a_suggestion(sample_org, catalogue):
    with pytest.raises(UsageError, match="unknown unit 'HO' \\(did you mean 'ho'\\?\\)"):
        _plan(sample_org, catalogue, unit="HO")
    with pytest.raises(UsageError, match="did you mean 'dvvl'"):
        _plan(sample_org, catalogue, unit="dvv")


def test_the_person_behind_sudo_is_recorded(monkeypatch):
    monkeypatch.setenv("LOGNAME", "root")
    monkeypatch.setenv("SUDO_USER", "alice")
    assert current_user() == "alice (sudo)"
    monkeypatch.delenv("SUDO_USER")
    assert current_user() == "root"


def test_without_a_register_targets_are_needed(catalogue):
    with pytest.raises(TargetError, match="no targets"):
        _plan(None, catalogue)
    (plan,) = _plan(None, catalogue, targets=("10.0.0.0/30",))
    assert plan.unit is None and "no organization.yaml" in plan.note


def test_options_record_what_nmap_is_asked(sample_org, catalogue):
    (plan,) = _plan(sample_org, catalogue, privileged=False, unit="dvvl", ports="22,80", timing=2)
    assert plan.options() == {
        "ports": [22, 80],
        "ports_spec": "22,80",
        "timing": 2,
        "privileged": False,
        "scan_type": "connect",
        "nmap_arguments": ["-sT", "-p", "22,80", "-T2", "-n", "--unprivileged"],
        "simulated": False,
        "method": "connect",
        "resolve": False,
        "window_days": 7,
    }
    assert (plan.ipv6_wanted, plan.ipv6_note) == (False, "needs root (raw sockets)")
