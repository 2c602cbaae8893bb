"""Local administrators by the names the rules compare (L1-ACC-03).

Get-LocalGroupMember writes this computer's accounts as "COMPUTER\\name"; the
unit's allow-list and the built-in account's name are bare names, so the parser
strips this computer's own prefix, and only that one: a domain account keeps
its domain, a look-alike prefix stays."""

from __future__ import annotations

import pytest

from itaudit.agent.probes.windows.security import local_name


@pytest.mark.parametrize(
    ("raw", "computer", "expected"),
    [
        ("HO-PC001\\quantri", "HO-PC001", "quantri"),
        ("ho-pc001\\QuanTri", "HO-PC001", "QuanTri"),
        ("SODLDTBXH\\Domain Admins", "HO-PC001", "SODLDTBXH\\Domain Admins"),
        ("HO-PC0011\\quantri", "HO-PC001", "HO-PC0011\\quantri"),
        ("AzureAD\\nguyenvana", "HO-PC001", "AzureAD\\nguyenvana"),
        ("quantri", "HO-PC001", "quantri"),
        ("HO-PC001\\", "HO-PC001", "HO-PC001\\"),
        ("HO-PC001\\quantri", "", "HO-PC001\\quantri"),
    ],
)
def test_only_this_computers_prefix_is_stripped(raw, computer, expected):
    assert local_name(raw, computer) == expected


def test_parsed_fixture_admins_match_the_allow_list_form(parsed):
    report = parsed("win10-bkav-defender-passive")
    names = [a["name"] for a in report["security"]["local_admins"]]
    assert names and not any(n.upper().startswith("HO-KT-PC07\\") for n in names), names
