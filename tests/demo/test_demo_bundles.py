"""The demo's Windows machines are collector bundles parsed by `agent parse`'s code.

Each Windows machine is a folder in collect.ps1's layout (manifest.json, one
file per source, SHA-256 of each in the manifest), in the value shapes of the
recorded fixture bundles; defects are planted in those raw sources; the
report is exactly what `parse_bundle` makes of the folder; and on the whole
demo run, no machine shows "could not be checked" unless a planted defect
explains it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from itaudit.agent.collect import parse_bundle
from itaudit.check.results import iter_subjects, latest_run
from itaudit.demo.bundles import demo_catalog
from itaudit.demo.generate import generate, load_defects
from itaudit.demo.run import BUNDLES_DIR, run_demo
from itaudit.store import open_store
from itaudit.workspace import Workspace

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "agent" / "fixtures"
# The fixture with the fullest set of sources (an administrator's run on Windows 11).
REFERENCE = FIXTURES / "win11-defender-only" / "bundle"


@pytest.fixture(scope="module")
def fleet(sample_org, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundles")
    reports = dict(generate(sample_org, now=NOW, bundles=folder))
    return folder, reports


def _source(folder: Path, name: str):
    entry = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["sources"][name]
    data = (folder / entry["file"]).read_bytes()
    return json.loads(data) if entry["file"].endswith(".json") else data.decode("utf-8")


def test_every_windows_machine_is_a_bundle_and_no_linux_one(sample_org, fleet):
    folder, reports = fleet
    windows = {n.removesuffix(".json") for n, d in reports.items() if d["platform"] == "windows"}
    assert windows and {p.name for p in folder.iterdir()} == windows
    assert all(d["platform"] == "linux" for n, d in reports.items() if n[:-5] not in windows)


def test_bundles_have_the_collector_layout(fleet):
    folder, _ = fleet
    reference = json.loads((REFERENCE / "manifest.json").read_text(encoding="utf-8"))
    for bundle in sorted(folder.iterdir())[:40]:
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["format"] == "itaudit-bundle/1" and manifest["collector"] == "powershell"
        assert set(manifest["sources"]) >= set(reference["sources"]), bundle.name
        for name, entry in manifest["sources"].items():
            ref = reference["sources"].get(name)
            if ref is not None:
                assert (entry["kind"], entry["target"]) == (ref["kind"], ref["target"]), name
            if entry["status"] == "ok":
                data = (bundle / entry["file"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == entry["sha256"], (bundle.name, name)
            else:
                assert "file" not in entry and entry["message"], (bundle.name, name)


def test_source_values_have_the_fixture_shapes(fleet):
    """Same JSON shape and property names as the fixture bundles (collect.ps1's selections)."""
    folder, _ = fleet
    reference = json.loads((REFERENCE / "manifest.json").read_text(encoding="utf-8"))["sources"]
    shapes: dict[str, set[str]] = {}
    kinds: dict[str, type] = {}
    for fixture in FIXTURES.glob("win*/bundle"):
        sources = json.loads((fixture / "manifest.json").read_text(encoding="utf-8"))["sources"]
        for name, entry in sources.items():
            if entry["status"] == "ok" and entry["file"].endswith(".json"):
                value = json.loads((fixture / entry["file"]).read_text(encoding="utf-8-sig"))
                item = value[0] if isinstance(value, list) and value else value
                kinds[name] = type(value)
                if isinstance(item, dict) and not name.startswith(("reg-", "netusermodals")):
                    shapes.setdefault(name, set()).update(item)
    checked = 0
    for bundle in (folder / "HO-PC-001", folder / "HO-SRV-001", folder / "HO-LT-001"):
        for name in reference:
            entry = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["sources"][
                name
            ]
            if entry["status"] != "ok" or name not in shapes:
                continue
            value = _source(bundle, name)
            assert isinstance(value, kinds[name]), name  # list sources stay JSON arrays
            for item in value if isinstance(value, list) else [value]:
                assert set(item) <= shapes[name], (bundle.name, name, set(item) - shapes[name])
                checked += 1
    assert checked > 100


def test_the_report_is_what_agent_parse_makes_of_the_bundle(fleet):
    folder, reports = fleet
    for tag, unit in (("HO-PC-001", "ho"), ("DVVL-PC-003", "dvvl"), ("HO-SRV-002", "ho")):
        parsed = parse_bundle(folder / tag, demo_catalog(), unit, collector="demo")
        generated = dict(reports[f"{tag}.json"])
        assert parsed == generated, tag
        assert "bundle_signature" in parsed and "signature" not in parsed  # collect.ps1's own


def test_defects_are_planted_in_the_raw_sources(fleet):
    folder, _ = fleet
    av = {a["displayName"]: a for a in _source(folder / "HO-PC-012", "cim-antivirusproduct")}
    assert av["Bkav Endpoint"]["productState"] == 262144
    assert _source(folder / "BTXH1-PC-004", "cim-antivirusproduct")[0]["productState"] == 266256
    modals = _source(folder / "DDNCC-PC-001", "netusermodals")
    assert (modals["MinPasswordLength"], modals["LockoutThreshold"]) == (0, 0)
    assert "PasswordComplexity = 0" in _source(folder / "DDNCC-PC-001", "secedit-securitypolicy")
    assert _source(folder / "TCNKT-PC-002", "reg-terminal-server") == {"fDenyTSConnections": 0}
    assert _source(folder / "CN2-PC-004", "reg-lanmanserver") == {"SMB1": 1}
    assert _source(folder / "BTXH2-PC-005", "reg-explorer-policy-hklm") == {
        "NoDriveTypeAutoRun": 0x91
    }
    assert _source(folder / "HO-PC-045", "reg-currentversion")["CurrentBuild"] == "19045"
    history = _source(folder / "DVVL-PC-003", "wu-history")
    assert any(u["ResultCode"] == 4 and "KB5072015" in u["Title"] for u in history)
    edr = [s for s in _source(folder / "DDNCC-PC-003", "services") if s["Name"] == "BkavEDRAgent"]
    assert [s["State"] for s in edr] == ["Stopped"]
    clean = _source(folder / "HO-PC-001", "reg-currentversion")
    assert (
        clean["UBR"] == 9974 and clean["ProductName"] == "Windows 10 Pro"
    )  # as Windows 11 writes it


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo-bundles") / "ws"
    ws = Workspace(root)
    ws.root.mkdir()
    ws.inventory.mkdir()
    store = open_store(ws.default_store_url)
    lines: list[str] = []
    try:
        run = run_demo(ws, store, lines.append, now=NOW)
        yield run, store, lines
    finally:
        store.close()


def test_the_demo_stage_writes_the_bundles_it_parses(demo):
    run, _store, lines = demo
    folder = run.workspace.root / BUNDLES_DIR
    assert run.results["bundles"] == sum(1 for _ in folder.iterdir()) > 250
    assert any("collector bundles in" in line for line in lines)


def test_no_could_not_check_on_the_demo_unless_a_planted_defect_explains_it(demo):
    _run, store, _lines = demo
    explained: dict[str, set[str]] = {}
    for d in load_defects():
        explained.setdefault(d.asset or d.hostname or "", set()).update(d.rules)
    unexplained = []
    for subject in iter_subjects(store, latest_run(store), kinds=("host", "asset")):
        key = subject.asset_tag or subject.hostname
        for r in subject.results:
            if r.status == "error" and r.rule_id not in explained.get(key, set()):
                unexplained.append((key, r.rule_id))
    assert unexplained == []
