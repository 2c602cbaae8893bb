"""`itaudit catalog` through the real CLI: an unknown product surfaces in `check`,
in `catalog unknown`, is added with `catalog add --from-seen`, and L1-AV-04 then
takes the unit's attestation."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _read(bundle: Path, source: str) -> Any:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    return json.loads((bundle / manifest["sources"][source]["file"]).read_text(encoding="utf-8"))


def _write(bundle: Path, source: str, value: Any) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["sources"][source]
    content = json.dumps(value).encode("utf-8")
    (bundle / entry["file"]).write_bytes(content)
    entry["sha256"] = hashlib.sha256(content).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def bkav_endpoint_bundle(into: Path) -> Path:
    """Windows 11 with Bkav Endpoint, a product no shipped catalogue knows: registered in
    Security Center ("on", up to date), its service and its reporting executable running."""
    bundle = into / "bundle"
    shutil.copytree(FIXTURES / "win11-defender-only" / "bundle", bundle)
    products = _read(bundle, "cim-antivirusproduct")
    products.insert(
        0,
        {
            "displayName": "Bkav Endpoint",
            "instanceGuid": "{0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0}",
            "pathToSignedProductExe": "C:\\Program Files\\Bkav\\BkavEp\\BkavEpUI.exe",
            "pathToSignedReportingExe": "C:\\Program Files\\Bkav\\BkavEp\\BkavEpSvc.exe",
            "productState": 266240,
            "timestamp": "Fri, 21 Jun 2024 08:30:00 GMT",
        },
    )
    _write(bundle, "cim-antivirusproduct", products)
    services = _read(bundle, "services")
    services.append(
        {
            "Name": "BkavEpSvc",
            "DisplayName": "Bkav Endpoint Service",
            "State": "Running",
            "StartMode": "Auto",
        }
    )
    _write(bundle, "services", services)
    procs = _read(bundle, "processes")
    procs.append({"Name": "BkavEpSvc.exe", "ProcessId": 3120})
    _write(bundle, "processes", procs)
    return bundle


@pytest.fixture
def fleet(run_cli, workspace, tmp_path):
    """A workspace whose store holds the Bkav Endpoint machine (unit ho)."""
    ws = ("--workspace", str(workspace.root))
    bundle = bkav_endpoint_bundle(tmp_path)

    def parse_and_ingest(name: str) -> dict[str, Any]:
        out = tmp_path / name
        res = run_cli("agent", "parse", str(bundle), "--unit", "ho", "--out", str(out), *ws)
        assert res.returncode == 0, res.output
        res = run_cli("ingest", str(out), *ws)
        assert res.returncode == 0, res.output
        return json.loads(out.read_text(encoding="utf-8"))

    return ws, parse_and_ingest


def _av(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in report["security"]["antivirus"] if a["name"] == name)


def test_unknown_product_surfaces_is_added_and_then_recognised(run_cli, workspace, fleet):
    ws, parse_and_ingest = fleet
    report = parse_and_ingest("before.json")
    host = report["identity"]["hostname"]
    bkav = _av(report, "Bkav Endpoint")
    # Not catalogued, but its reporting executable runs: it protects, it is no leftover.
    assert (bkav["vendor"], bkav["running"], bkav["leftover"], bkav["managed"]) == (
        None,
        True,
        False,
        None,
    )

    res = run_cli("check", *ws)
    assert res.returncode in (0, 1), res.output
    assert "Security products not in the catalogue:" in res.stdout
    assert f"Bkav Endpoint (Security Center) on 1 machine(s) ({host})" in res.stdout
    assert 'itaudit catalog add --from-seen "Bkav Endpoint" --kind av' in res.stdout

    for lang, title in (
        ("en", "Security products not in the catalogue"),
        ("vi", "chưa có trong danh mục"),
    ):
        res = run_cli("report", "-f", "md", "--stdout", "--lang", lang, *ws)
        assert res.returncode == 0, res.output
        section = res.stdout.split(title, 1)[1]
        assert "Bkav Endpoint (Windows Security Center): 1 m" in section
        assert host in section and 'catalog add --from-seen "Bkav Endpoint"' in section

    res = run_cli("catalog", "unknown", "-f", "json", *ws)
    assert res.returncode == 0, res.output
    seen = {(p["name"], p["source"]): p for p in json.loads(res.stdout)}
    assert set(seen) == {
        ("Bkav Endpoint", "securitycenter"),
        ("BkavEpSvc", "service"),
        ("BkavEpSvc.exe", "process"),
    }
    assert seen[("BkavEpSvc", "service")]["hosts"] == [host]
    assert seen[("BkavEpSvc", "service")]["keyword"] == "bkav"

    res = run_cli(
        "catalog",
        "add",
        "--from-seen",
        "Bkav Endpoint",
        "--from-seen",
        "bkavepsvc",
        "--from-seen",
        "BkavEpSvc.exe",
        "--kind",
        "av",
        "--vendor",
        "Bkav",
        *ws,
    )
    assert res.returncode == 0, res.output
    local = workspace.root / "inventory" / "security-products.yaml"
    text = local.read_text(encoding="utf-8")
    for line in ("id: bkav-endpoint", "- BkavEpSvc\n", "- BkavEpSvc.exe", "- Bkav Endpoint"):
        assert line in text

    res = run_cli("catalog", "unknown", "-f", "json", *ws)
    assert (res.returncode, json.loads(res.stdout)) == (0, [])
    res = run_cli("catalog", "list", "-f", "json", *ws)
    entry = next(p for p in json.loads(res.stdout) if p["id"] == "bkav-endpoint")
    assert entry["origin"].startswith(str(local))

    after = _av(parse_and_ingest("after.json"), "Bkav Endpoint")
    assert (after["vendor"], after["running"], after["managed"]) == ("Bkav", True, None)


def test_unit_attestation_decides_av04_for_a_product_without_a_management_signal(
    run_cli, workspace, fleet
):
    ws, parse_and_ingest = fleet
    host = parse_and_ingest("r.json")["identity"]["hostname"]

    def av04() -> str:
        res = run_cli("check", "--host", host, "-f", "json", *ws)
        assert res.returncode in (0, 1), res.output
        found = [r["status"] for r in json.loads(res.stdout)["results"] if r["rule"] == "L1-AV-04"]
        return found[0] if found else "pass"

    assert av04() == "fail"  # never "error" merely because Bkav shows nothing
    res = run_cli(
        "attest",
        "L1-AV-04",
        "--unit",
        "ho",
        "--ref",
        "Biên bản kiểm tra máy chủ quản trị Bkav",
        "--date",
        date.today().isoformat(),
        *ws,
    )
    assert res.returncode == 0, res.output
    assert av04() == "pass"


def test_add_refuses_a_name_never_seen(run_cli, workspace):
    res = run_cli(
        "catalog",
        "add",
        "--from-seen",
        "Nope AV",
        "--kind",
        "av",
        "--workspace",
        str(workspace.root),
    )
    assert res.returncode == 2
    assert "not among the unknown products seen" in res.output


def test_add_without_a_service_or_process_is_refused(run_cli, workspace):
    res = run_cli(
        "catalog",
        "add",
        "--securitycenter",
        "Contoso AV",
        "--kind",
        "av",
        "--workspace",
        str(workspace.root),
    )
    assert res.returncode == 2
    assert "needs a service or process name" in res.output
    assert not (workspace.root / "inventory" / "security-products.yaml").exists()
