"""`itaudit agent parse` on several bundles at once: the USB stick back at the officer's desk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from itaudit.agent.bundle import zip_bundle
from itaudit.schema import validate_report

FIXTURES = Path(__file__).resolve().parent / "fixtures"
WIN11 = FIXTURES / "win11-defender-only" / "bundle"
SERVER = FIXTURES / "winserver2019-no-securitycenter" / "bundle"


def test_several_bundles_give_one_report_each_in_the_out_dir(run_cli, tmp_path):
    stick = tmp_path / "itaudit-bundles"
    stick.mkdir()
    shutil.copytree(WIN11, stick / "HO-TTR-LT02-20240621T084012Z")
    zip_bundle(WIN11, stick / "HO-TTR-LT02-20240621T084012Z.zip")  # the same collection
    zip_bundle(SERVER, stick / "SLDTBXH-SRV01-20240622T010547Z.zip")
    bundles = sorted(str(p) for p in stick.iterdir())
    res = run_cli("agent", "parse", *bundles, "--unit", "ho", "--out-dir", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        "HO-TTR-LT02-20240621T084012Z.json",
        "SLDTBXH-SRV01-20240622T010547Z.json",
    ]
    for name in written:
        report = json.loads((tmp_path / "out" / name).read_text(encoding="utf-8"))
        assert validate_report(report) == [] and report["unit"] == "ho"
    assert "[1/3]" in res.stderr and "[3/3]" in res.stderr
    assert "the same collection as" in res.stderr
    assert "2 report(s) written to" in res.stderr


def test_an_unreadable_bundle_is_reported_and_the_others_are_still_written(run_cli, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(WIN11, broken)
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    out = tmp_path / "out"
    res = run_cli("agent", "parse", str(broken), str(SERVER), "--out-dir", str(out))
    assert res.returncode == 2
    assert [p.name for p in out.iterdir()] == ["SLDTBXH-SRV01-20240622T010547Z.json"]
    assert f"{broken}/manifest.json: invalid JSON" in res.stderr
    assert f"1 bundle(s) could not be read: {broken}" in res.stderr


def test_several_bundles_need_an_out_dir(run_cli, tmp_path):
    res = run_cli("agent", "parse", str(WIN11), str(SERVER))
    assert res.returncode == 2 and "give --out-dir DIR" in res.stderr
    res = run_cli("agent", "parse", str(WIN11), str(SERVER), "--out", str(tmp_path / "r.json"))
    assert res.returncode == 2 and "--out takes one bundle" in res.stderr
    assert not (tmp_path / "r.json").exists()


def test_a_folder_of_bundles_is_named_as_such(run_cli, tmp_path):
    shutil.copytree(WIN11, tmp_path / "stick" / "HO-TTR-LT02")
    res = run_cli("agent", "parse", str(tmp_path / "stick"))
    assert res.returncode == 2
    assert "not a bundle (it holds bundles: give them" in res.stderr
