"""The port list: the bundled data, per-unit tailoring, problems with their line, --ports."""

from __future__ import annotations

from pathlib import Path

import pytest

from itaudit.errors import InputError, UsageError
from itaudit.scan.ports import (
    PORTS_FILE,
    choose_ports,
    load_catalogue,
    parse_port_list,
    workspace_catalogue,
)
from itaudit.workspace import sample_root

LEVEL1_PORTS = {3389, 445, 139, 23, 21, 5900, 80, 443, 8080, 22, 1433, 3306, 5432, 1521, 27017}


@pytest.fixture(scope="module")
def bundled():
    return load_catalogue(sample_root() / "profiles" / PORTS_FILE)


def test_the_default_list_holds_the_level1_ports_with_notes_in_both_languages(bundled):
    ports = {p.port: p for p in bundled.default}
    assert set(ports) >= LEVEL1_PORTS
    for p in ports.values():
        assert p.note_vi and p.note_en and p.note_vi != p.note_en
    assert ports[3389].expected_on == ("server",)
    assert ports[23].risk == "high"


def test_the_head_office_adds_jetdirect_for_printers(bundled):
    ho = {p.port: p for p in bundled.for_unit("ho")}
    assert ho[9100].expected_on == ("printer",)
    assert 9100 not in {p.port for p in bundled.for_unit("dvvl")}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scan-ports.yaml"
    path.write_text(text, encoding="utf-8")
    return path


ENTRY = """  - port: 23
    service: telnet
    risk: high
    note_vi: Telnet không mã hóa.
    note_en: Telnet is not encrypted.
"""


def test_a_unit_may_remove_and_replace_ports(tmp_path):
    path = _write(
        tmp_path,
        "ports:\n"
        + ENTRY
        + ENTRY.replace("23", "21").replace("telnet", "ftp")
        + "units:\n  a:\n    remove: [21]\n    add:\n"
        + "\n".join("    " + line for line in ENTRY.replace("high", "low").splitlines())
        + "\n",
    )
    cat = load_catalogue(path, {"a", "b"})
    assert [(p.port, p.risk) for p in cat.for_unit("a")] == [(23, "low")]
    assert [(p.port, p.risk) for p in cat.for_unit("b")] == [(21, "high"), (23, "high")]


def test_problems_are_all_reported_with_their_lines(tmp_path):
    path = _write(
        tmp_path,
        "ports:\n"
        "  - port: 70000\n"
        "    service: x\n"
        "    risk: high\n"
        "    note_vi: a\n"
        "    note_en: b\n"
        "  - port: 22\n"
        "    service: ssh\n"
        "    risk: severe\n"
        "    expected_on: [server, toaster]\n"
        "    note_vi: a\n"
        "units:\n"
        "  nowhere:\n"
        "    remove: [22]\n",
    )
    with pytest.raises(InputError) as err:
        load_catalogue(path, {"ho"})
    text = str(err.value)
    assert f"{path}:2: port: must be a port number 1-65535, not 70000" in text
    assert f"{path}:9: risk: must be one of high, medium, low" in text
    assert f"{path}:10: 1: 'toaster' is not an asset type" in text
    assert f"{path}:7: note_en: is required" in text
    assert f"{path}:13: nowhere: 'nowhere' is not a unit of organization.yaml" in text


def test_a_workspace_without_its_own_list_uses_the_bundled_one(tmp_path):
    cat = workspace_catalogue(tmp_path / "profiles", {"lab"})
    assert {p.port for p in cat.default} >= LEVEL1_PORTS
    assert cat.source.endswith(str(PORTS_FILE))


def test_a_workspace_list_naming_an_unknown_unit_is_refused(tmp_path):
    (tmp_path / "profiles" / "data").mkdir(parents=True)
    (tmp_path / "profiles" / PORTS_FILE).write_text(
        "ports:\n" + ENTRY + "units:\n  typo:\n    remove: [23]\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="'typo' is not a unit"):
        workspace_catalogue(tmp_path / "profiles", {"lab"})


def test_port_lists_and_ranges():
    assert parse_port_list("22, 80,8000-8002") == (22, 80, 8000, 8001, 8002)
    for bad in ("22;80", "0", "70000", "90-80", "http", ""):
        with pytest.raises(UsageError):
            parse_port_list(bad)


def test_choose_ports(bundled):
    assert choose_ports("none", bundled, "ho").ports == ()
    assert 9100 in choose_ports("default", bundled, "ho").ports
    assert choose_ports("3389,445", bundled, None).ports == (445, 3389)
