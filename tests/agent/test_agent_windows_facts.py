"""The facts each Windows case exists for, spelled out (expected.json has them all)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from itaudit.agent.collect import parse_bundle


def _av(report, source):
    return [a for a in report["security"]["antivirus"] if a["source"] == source]


def test_bkav_is_the_antivirus_and_defender_is_passive(parsed):
    r = parsed("win10-bkav-defender-passive")
    bkav = next(a for a in r["security"]["antivirus"] if a["name"] == "Bkav Pro")
    assert (bkav["enabled"], bkav["up_to_date"], bkav["running"], bkav["product_state"]) == (
        True,
        True,
        True,
        266240,
    )
    defender = _av(r, "defender")[0]
    assert (defender["mode"], defender["enabled"]) == ("passive", False)
    assert [e["name"] for e in r["security"]["edr"]] == ["Microsoft Defender for Endpoint"]


def test_windows_11_is_known_by_build_not_product_name(parsed):
    r = parsed("win11-defender-only")
    assert (r["os"]["name"], r["os"]["build"], r["os"]["patch_revision"]) == (
        "Windows 11 Pro",
        22631,
        3737,
    )
    assert [(a["source"], a["enabled"], a["mode"]) for a in r["security"]["antivirus"]] == [
        ("securitycenter", True, "active"),
        ("defender", True, "active"),
    ]


def test_orphaned_sid_falls_back_to_cim_for_local_admins(parsed):
    r = parsed("win11-defender-only")
    assert [a["sid"].rsplit("-", 1)[1] for a in r["security"]["local_admins"]] == ["500", "1001"]
    assert {"probe": "security.local_admins", "kind": "failed"} in [
        {"probe": e["probe"], "kind": e["kind"]} for e in r["errors"]
    ]


def test_server_2019_without_securitycenter_records_no_error(parsed):
    # No root/SecurityCenter2 on Windows Server is normal, not a probe failure:
    # Get-MpComputerStatus, the services and the catalogue decide.
    bundle = Path(__file__).resolve().parent / "fixtures" / "winserver2019-no-securitycenter"
    manifest = json.loads((bundle / "bundle" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sources"]["cim-antivirusproduct"]["status"] == "absent"
    r = parsed("winserver2019-no-securitycenter")
    assert [e for e in r["errors"] if e["probe"].startswith("security.antivirus")] == []
    assert [a["source"] for a in r["security"]["antivirus"]] == ["defender"]
    assert r["os"]["server"] is True and r["hardware"]["form_factor"] == "vm"


def test_vietnamese_windows_parses_without_reading_its_words(parsed):
    r = parsed("win10-vietnamese")
    assert [w["ssid"] for w in r["network"]["wifi_profiles"]] == ["SLDTBXH-Tầng 2", "Phòng Kế toán"]
    assert [p["name"] for p in r["network"]["profile_history"]] == [
        "Mạng",
        "Mạng 2",
        "SLDTBXH-Tầng 2",
    ]
    # ObjectClass says "Người dùng": the kind comes from the CIM class of the same SID.
    assert {a["kind"] for a in r["security"]["local_admins"]} == {"user"}
    assert r["os"]["language"] == "vi-VN"


def test_out_of_date_third_party_antivirus(parsed):
    r = parsed("win10-thirdparty-av-outdated")
    eset = next(a for a in r["security"]["antivirus"] if a["name"] == "ESET Endpoint Antivirus")
    assert (eset["product_state"], eset["enabled"], eset["up_to_date"], eset["running"]) == (
        266256,
        True,
        False,
        True,
    )


def test_state_secret_machine_is_offline_but_has_history(parsed):
    r = parsed("win10-state-secret-offline")
    assert [
        i["name"] for i in r["network"]["interfaces"] if i["up"] and i["kind"] != "loopback"
    ] == []
    assert r["network"]["default_gateways"] == []
    history = r["network"]["profile_history"]
    # SYSTEMTIME local (UTC+7) converted to UTC.
    assert [(p["kind"], p["first_connected"]) for p in history] == [
        ("wired", "2021-03-02T02:12:40Z"),
        ("wireless", "2021-03-04T07:02:18Z"),
    ]
    defender = next(a for a in r["security"]["antivirus"] if a["source"] == "defender")
    assert defender["up_to_date"] is False


def test_definition_updates_never_count_as_the_last_patch(parsed):
    r = parsed("win10-bkav-defender-passive")
    assert r["patches"]["last_install_at"] == "2024-06-12T03:42:10Z"
    assert "KB2267602" in [p["id"] for p in r["patches"]["installed"]]


def test_localised_text_never_decides_a_fact(parsed, catalog, tmp_path):
    """The Vietnamese machine again, with every localised string put in another language."""
    source = Path(__file__).resolve().parent / "fixtures" / "win10-vietnamese" / "bundle"
    bundle = tmp_path / "bundle"
    shutil.copytree(source, bundle)

    def rewrite(name, change):
        path = bundle / name
        path.write_bytes(change(path.read_bytes().decode("utf-8-sig")).encode("utf-8"))

    def labels(text):
        out = []
        for line in text.splitlines():
            if line.startswith("    ") and " : " in line:
                line = "    Profil für alle Benutzer : " + line.split(" : ", 1)[1]
            elif line.strip() and not set(line.strip()) <= {"-"}:
                line = ("    " if line.startswith(" ") else "") + "Benutzerprofile (übersetzt)"
            out.append(line)
        return "\r\n".join(out) + "\r\n"

    def json_edit(change):
        return lambda text: json.dumps(change(json.loads(text)), ensure_ascii=False)

    rewrite("netsh-wlan-profiles.txt", labels)
    rewrite("local-admins.json", json_edit(lambda v: [{**m, "ObjectClass": "Benutzer"} for m in v]))
    rewrite(
        "services.json",
        json_edit(lambda v: [{**s, "DisplayName": f"Dienst {i}"} for i, s in enumerate(v)]),
    )
    rewrite("cim-os.json", json_edit(lambda v: [{**v[0], "OSArchitecture": "64 Bit"}]))
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["sources"].values():
        if entry.get("message"):
            entry["message"] = "Meldung in einer anderen Sprache"
        if entry.get("file"):
            entry["sha256"] = hashlib.sha256((bundle / entry["file"]).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    original = parsed("win10-vietnamese")
    other = parse_bundle(bundle, catalog, collector="fixture")
    for section in ("identity", "os", "hardware", "network", "security", "patches", "software"):
        assert other[section] == original[section], section
    assert [(e["probe"], e["kind"]) for e in other["errors"]] == [
        (e["probe"], e["kind"]) for e in original["errors"]
    ]
