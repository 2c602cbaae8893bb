"""Anti-malware truth on Windows: what a bundle's products become, and the golden
bases (tests/check/golden/_bases/win-av-*.json) that carry exactly that.

The golden cases of L1-AV-01..04 named `win-av-*` judge these bases; the test
at the end keeps each base equal to what `agent parse` derives from its bundle,
so the chain bundle -> report -> verdict holds. Regenerate the bases after a
deliberate change of the parsers with `python tests/agent/test_av_truth.py`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from itaudit.agent.catalog import load_catalog
from itaudit.agent.collect import parse_bundle

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BASES = Path(__file__).resolve().parents[1] / "check" / "golden" / "_bases"
AV_PROBE = "security.antivirus"


# -- bundle editing (a copy in a temporary folder; the manifest hash follows) -------------


def _copy(case: str, into: Path) -> Path:
    bundle = into / case
    shutil.copytree(FIXTURES / case / "bundle", bundle)
    return bundle


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


def rtp_off(bundle: Path) -> None:
    """Server 2022: Defender's real-time protection switched off (AMRunningMode stays Normal)."""
    status = _read(bundle, "mp-computerstatus")
    status["RealTimeProtectionEnabled"] = False
    _write(bundle, "mp-computerstatus", status)


def uncatalogued_leftover(bundle: Path) -> None:
    """The third-party antivirus was uninstalled: its Security Center registration
    ("on") stays, under a name no catalogue knows, and none of its files run."""
    products = _read(bundle, "cim-antivirusproduct")
    products[0].update(
        displayName="Contoso Endpoint Protection",
        pathToSignedProductExe="C:\\Program Files\\Contoso\\ContosoUI.exe",
        pathToSignedReportingExe="C:\\Program Files\\Contoso\\ContosoSvc.exe",
    )
    _write(bundle, "cim-antivirusproduct", products)
    _write(bundle, "services", [s for s in _read(bundle, "services") if s["Name"] != "ekrn"])
    procs = [p for p in _read(bundle, "processes") if p["Name"] not in ("ekrn.exe", "egui.exe")]
    _write(bundle, "processes", procs)


def uncatalogued_running(bundle: Path) -> None:
    """A product no catalogue knows, registered "on", whose reporting executable runs."""
    uncatalogued_leftover(bundle)
    procs = _read(bundle, "processes")
    procs.append({"Name": "ContosoSvc.exe", "ProcessId": 4242})
    _write(bundle, "processes", procs)


def kaspersky_network_agent(bundle: Path) -> None:
    """Kaspersky Endpoint Security with its Network Agent (klnagent) running."""
    services = _read(bundle, "services")
    services.append(
        {
            "Name": "klnagent",
            "DisplayName": "Kaspersky Security Center Network Agent",
            "State": "Running",
            "StartMode": "Auto",
        }
    )
    _write(bundle, "services", services)


def bkav_endpoint_service(bundle: Path) -> None:
    """An unknown Bkav product beside Defender only: its service is surfaced."""
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


# base name -> (demo base it starts from, fixture bundle, edit of the bundle or None)
DERIVED: dict[str, tuple[str, str, Callable[[Path], None] | None]] = {
    "win-av-server2022": ("windows-server", "winserver2022-defender-fr", None),
    "win-av-server2022-rtp-off": ("windows-server", "winserver2022-defender-fr", rtp_off),
    "win-av-bkav-pro": ("windows-workstation", "win10-bkav-defender-passive", None),
    "win-av-leftover": (
        "windows-workstation",
        "win10-thirdparty-av-outdated",
        uncatalogued_leftover,
    ),
    "win-av-kaspersky-agent": (
        "windows-workstation",
        "win10-vietnamese",
        kaspersky_network_agent,
    ),
}


def parse(case: str, edit: Callable[[Path], None] | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        bundle = _copy(case, Path(tmp))
        if edit is not None:
            edit(bundle)
        return parse_bundle(bundle, load_catalog(), collector="fixture")


def _carried(report: dict[str, Any]) -> dict[str, Any]:
    """What a win-av base takes from its bundle: the OS, the security products, their errors."""
    sec = report["security"]
    return {
        "os": report["os"],
        "antivirus": sec["antivirus"],
        "edr": sec["edr"],
        "uncatalogued": sec.get("uncatalogued", []),
        "errors": [e for e in report["errors"] if e["probe"].startswith(AV_PROBE)],
    }


def derive(name: str) -> dict[str, Any]:
    start, case, edit = DERIVED[name]
    doc = json.loads((BASES / f"{start}.json").read_text(encoding="utf-8"))
    got = _carried(parse(case, edit))
    doc["os"] = got["os"]
    doc["security"]["antivirus"] = got["antivirus"]
    doc["security"]["edr"] = got["edr"]
    doc["security"]["uncatalogued"] = got["uncatalogued"]
    doc["errors"] = got["errors"]
    return doc


# -- the facts --------------------------------------------------------------------------


def _av(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in report["security"]["antivirus"] if a["name"] == name)


def test_server_without_securitycenter_is_decided_by_defender():
    on, off = parse("winserver2022-defender-fr"), parse("winserver2022-defender-fr", rtp_off)
    assert [e for e in on["errors"] if e["probe"].startswith(AV_PROBE)] == []
    assert (on["os"]["server"], _av(on, "Microsoft Defender Antivirus")["enabled"]) == (True, True)
    assert _av(off, "Microsoft Defender Antivirus")["enabled"] is False


def test_client_without_securitycenter_still_records_the_error():
    def client(bundle: Path) -> None:
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        os_file = bundle / manifest["sources"]["cim-os"]["file"]
        os_info = json.loads(os_file.read_text(encoding="utf-8"))
        os_info[0]["ProductType"] = 1  # a workstation
        _write(bundle, "cim-os", os_info)
        reg = _read(bundle, "reg-currentversion")
        reg["InstallationType"] = "Client"
        _write(bundle, "reg-currentversion", reg)

    report = parse("winserver2019-no-securitycenter", client)
    assert report["os"]["server"] is False
    errors = [e for e in report["errors"] if e["probe"] == AV_PROBE]
    assert [e["kind"] for e in errors] == ["unsupported"]
    assert "SecurityCenter2" in errors[0]["message"]


def test_uncatalogued_registration_with_nothing_running_is_a_leftover():
    report = parse("win10-thirdparty-av-outdated", uncatalogued_leftover)
    contoso = _av(report, "Contoso Endpoint Protection")
    assert (contoso["enabled"], contoso["running"], contoso["leftover"], contoso["vendor"]) == (
        True,
        False,
        True,
        None,
    )


def test_uncatalogued_registration_whose_executable_runs_is_running():
    contoso = _av(
        parse("win10-thirdparty-av-outdated", uncatalogued_running), "Contoso Endpoint Protection"
    )
    assert (contoso["running"], contoso["leftover"]) == (True, False)


def test_catalogued_product_with_a_stopped_service_is_not_a_leftover():
    def stop_ekrn(bundle: Path) -> None:
        services = _read(bundle, "services")
        for s in services:
            if s["Name"] == "ekrn":
                s["State"] = "Stopped"
        _write(bundle, "services", services)
        procs = [p for p in _read(bundle, "processes") if p["Name"] not in ("ekrn.exe", "egui.exe")]
        _write(bundle, "processes", procs)

    eset = _av(parse("win10-thirdparty-av-outdated", stop_ekrn), "ESET Endpoint Antivirus")
    assert (eset["running"], eset["leftover"]) == (False, False)


def test_unreadable_processes_leave_the_running_state_unknown():
    def deny_processes(bundle: Path) -> None:
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        manifest["sources"]["processes"].update(status="denied", message="Access denied")
        manifest["sources"]["services"].update(status="denied", message="Access denied")
        (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    report = parse("win10-thirdparty-av-outdated", deny_processes)
    eset = _av(report, "ESET Endpoint Antivirus")
    assert (eset["running"], eset["leftover"], eset["managed"]) == (None, None, None)


def test_management_agent_makes_the_product_managed():
    with_agent = _av(
        parse("win10-vietnamese", kaspersky_network_agent),
        "Kaspersky Endpoint Security for Windows",
    )
    without = _av(parse("win10-vietnamese"), "Kaspersky Endpoint Security for Windows")
    assert (with_agent["managed"], with_agent["console"]) == (True, "Kaspersky Security Center")
    assert (without["managed"], without["console"]) == (False, None)


def test_product_without_a_management_signal_leaves_managed_unknown():
    bkav = _av(parse("win10-bkav-defender-passive"), "Bkav Pro")
    assert (bkav["running"], bkav["managed"]) == (True, None)


def test_unknown_vendor_service_is_surfaced_and_known_vendors_names_are_not():
    report = parse("win11-defender-only", bkav_endpoint_service)
    assert report["security"]["uncatalogued"] == [
        {
            "name": "BkavEpSvc",
            "source": "service",
            "display_name": "Bkav Endpoint Service",
            "running": True,
            "keyword": "bkav",
        }
    ]
    # Bkav Pro is recognised on this machine: its other Bkav-named service is part of it.
    assert parse("win10-bkav-defender-passive")["security"]["uncatalogued"] == []


def test_defender_not_running_without_signatures_is_not_up_to_date():
    report = parse("win11-24h2-kaspersky-standard-user")
    defender = _av(report, "Microsoft Defender Antivirus")
    assert (defender["mode"], defender["up_to_date"]) == ("disabled", None)


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_golden_bases_carry_what_the_bundles_parse_to(name):
    frozen = json.loads((BASES / f"{name}.json").read_text(encoding="utf-8"))
    assert frozen == derive(name), f"regenerate: python {Path(__file__).name}"


def _regenerate() -> None:
    for name in sorted(DERIVED):
        doc = copy.deepcopy(derive(name))
        (BASES / f"{name}.json").write_text(
            json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        print(f"{name}.json", file=sys.stderr)


if __name__ == "__main__":
    _regenerate()
