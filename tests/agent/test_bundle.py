"""Bundles are untrusted input: names, sizes, hashes and shapes are checked."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from itaudit.agent.bundle import Bundle, BundleContext, zip_bundle
from itaudit.agent.context import Status
from itaudit.agent.errors import BundleError

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WIN = FIXTURES / "win11-defender-only" / "bundle"


@pytest.fixture
def bundle_copy(tmp_path):
    dest = tmp_path / "bundle"
    shutil.copytree(WIN, dest)
    return dest


def _manifest(path):
    return json.loads((path / "manifest.json").read_text(encoding="utf-8"))


def _write(path, manifest):
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_zip_with_a_top_folder_reads_like_the_folder(tmp_path):
    target = tmp_path / "b.zip"
    with zipfile.ZipFile(target, "w") as zf:
        for f in WIN.iterdir():
            zf.write(f, f"HO-TTR-LT02-20240621T084012Z/{f.name}")
    ctx = BundleContext(Bundle.open(target))
    assert ctx.read_registry("reg-currentversion", "").value["CurrentBuild"] == "22631"


def test_flat_zip_round_trip(tmp_path):
    ctx = BundleContext(Bundle.open(zip_bundle(WIN, tmp_path / "flat.zip")))
    assert ctx.services().ok


def test_file_changed_after_collection_is_not_trusted(bundle_copy):
    (bundle_copy / "reg-currentversion.json").write_text('{"CurrentBuild": "19045"}')
    res = BundleContext(Bundle.open(bundle_copy)).read_registry("reg-currentversion", "")
    assert res.status is Status.FAILED
    assert "changed after collection" in res.message


def test_manifest_naming_a_file_outside_the_bundle_is_refused(bundle_copy):
    m = _manifest(bundle_copy)
    m["sources"]["reg-currentversion"]["file"] = "../../etc/passwd"
    _write(bundle_copy, m)
    with pytest.raises(BundleError, match="unsafe name"):
        Bundle.open(bundle_copy)


def test_unknown_format_is_refused(bundle_copy):
    m = _manifest(bundle_copy)
    m["format"] = "something-else/9"
    _write(bundle_copy, m)
    with pytest.raises(BundleError, match="format must be"):
        Bundle.open(bundle_copy)


def test_folder_without_manifest_is_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        Bundle.open(tmp_path)


def test_source_missing_from_the_bundle_is_a_failed_read(bundle_copy):
    m = _manifest(bundle_copy)
    del m["sources"]["fw-profiles"]
    _write(bundle_copy, m)
    res = BundleContext(Bundle.open(bundle_copy)).powershell("fw-profiles", "")
    assert (res.status, res.message) == (
        Status.FAILED,
        "not in the bundle (collected by an older script?)",
    )


def test_recorded_error_status_and_code_are_replayed(bundle_copy):
    res = BundleContext(Bundle.open(bundle_copy)).powershell("local-admins", "")
    assert res.status is Status.FAILED
    assert res.message.endswith("(0x80131509)")


def test_parse_cli_reports_a_broken_bundle_with_exit_2(run_cli, bundle_copy):
    (bundle_copy / "manifest.json").write_text("{not json")
    res = run_cli("agent", "parse", str(bundle_copy))
    assert res.returncode == 2
    assert "manifest.json" in res.stderr and "invalid JSON" in res.stderr


def test_a_link_out_of_the_bundle_is_not_followed_and_is_named(tmp_path, run_cli):
    """Issue 12 (6): a symbolic link in a bundle folder on a USB stick must not
    pull a file of the officer's machine into a report."""
    secret = tmp_path / "officer-secret.txt"
    secret.write_text("SECRET-OF-THE-OFFICER")
    bundle = tmp_path / "stick" / "PC"
    shutil.copytree(FIXTURES / "win11-defender-only" / "bundle", bundle)
    (bundle / "cim-bios.json").unlink()
    (bundle / "cim-bios.json").symlink_to(secret)
    (bundle / "inside.json").write_bytes(
        (FIXTURES / "win11-defender-only" / "bundle" / "cim-os.json").read_bytes()
    )
    (bundle / "cim-os.json").unlink()
    (bundle / "cim-os.json").symlink_to("inside.json")  # stays inside: followed
    out = tmp_path / "out"
    result = run_cli("agent", "parse", str(bundle), "--out-dir", str(out))
    assert result.returncode == 0, result.output
    text = next(out.glob("*.json")).read_text(encoding="utf-8")
    assert "SECRET-OF-THE-OFFICER" not in text
    report = json.loads(text)
    notes = " ".join(e["message"] for e in report["errors"])
    assert "cim-bios.json: a symbolic link to" in notes and "outside the bundle" in notes
    assert report["os"]["build"] is not None  # the link inside the bundle was read


def test_nul_and_lone_surrogates_from_a_machine_are_replaced_not_fatal(tmp_path, run_cli):
    """A machine's own text (here the model name) holding NUL or a lone surrogate
    gets U+FFFD and a note; the report is still made and passes the one validator."""
    import hashlib

    bundle = tmp_path / "PC"
    shutil.copytree(FIXTURES / "win11-defender-only" / "bundle", bundle)
    path = bundle / "cim-computersystem.json"
    items = json.loads(path.read_text(encoding="utf-8-sig"))
    items[0]["Model"] = "Bad\u0000Model\ud800"
    data = json.dumps(items).encode()  # ASCII escapes, as ConvertTo-Json writes them
    path.write_bytes(data)
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8-sig"))
    manifest["sources"]["cim-computersystem"]["sha256"] = hashlib.sha256(data).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    out = tmp_path / "out"
    result = run_cli("agent", "parse", str(bundle), "--out-dir", str(out))
    assert result.returncode == 0, result.output
    report = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert report["hardware"]["model"] == "Bad\ufffdModel\ufffd"
    assert any("NUL or lone surrogate replaced" in e["message"] for e in report["errors"])
    assert run_cli("schema", "validate", str(next(out.glob("*.json")))).returncode == 0
