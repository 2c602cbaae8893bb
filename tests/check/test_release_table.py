"""The Windows release table: the bundled data, `release_age` judgements, offline import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from itaudit.check.releases import ReleaseTable
from itaudit.errors import InputError, UsageError
from itaudit.profiles import validate_profiles
from itaudit.profiles.release_table import import_table, read_table, table_path
from itaudit.workspace import sample_root

BUNDLED = table_path(sample_root() / "profiles")
NOV_20 = date(2026, 11, 20)


@pytest.fixture(scope="module")
def table() -> ReleaseTable:
    return ReleaseTable(read_table(BUNDLED))


def test_bundled_table_is_valid_and_sourced():
    cat = read_table(BUNDLED)
    assert cat.as_of == date(2026, 11, 24)
    with_rev = [e for e in cat.entries if e["revision"] is not None]
    assert all(e["source"] for e in with_rev)
    assert all(e["released"].weekday() == 1 for e in cat.entries)  # Patch Tuesdays
    builds = {e["build"] for e in with_rev}
    assert {14393, 17763, 19044, 19045, 20348, 22631, 26100, 26200} <= builds
    # Revisions grow with the date within each build (cumulative updates).
    for build in builds:
        for server in (None, True, False):
            revs = [
                e["revision"]
                for e in sorted(with_rev, key=lambda e: e["released"])
                if e["build"] == build and e["server"] is server
            ]
            assert revs == sorted(revs), (build, server)


def test_age_is_of_the_oldest_missing_release(table):
    j = table.judge(19045, 5737, False, NOV_20, 45)
    assert j.days == (NOV_20 - date(2025, 11, 11)).days
    assert "KB5068781" in j.text and "older than the table's first release" in j.text


def test_up_to_date_is_zero_days(table):
    assert table.judge(26200, 9974, False, NOV_20, 45).days == 0
    assert table.judge(26200, 10001, False, NOV_20, 45).days == 0  # a later preview


def test_a_release_after_the_check_date_is_not_missing(table):
    # On 2026-11-09 the November release was not out yet. For 25H2 October's revision is
    # a gap of the table: a machine at September's level could not be checked; a
    # Server 2019 at October's level lacks nothing released by then.
    j = table.judge(26200, 9445, False, date(2026, 11, 9), 45)
    assert j.days is None and "2026-10-13" in j.text
    assert table.judge(17763, 9376, None, date(2026, 11, 9), 45).days == 0


def test_server_2025_needs_to_know_it_is_a_server(table):
    j = table.judge(26100, 33650, None, NOV_20, 45)
    assert j.days is None and "os.server not reported" in j.text


def test_stale_table_and_unknown_build(table):
    assert "days old" in table.judge(26200, 9974, False, date(2027, 1, 9), 45).text
    assert table.judge(26200, 9974, False, date(2027, 1, 8), 45).days == 0
    assert "build 9600 not in the release table" in table.judge(9600, 1, False, NOV_20, 45).text


def _table_text(as_of: str, extra: str = "") -> str:
    text = BUNDLED.read_text(encoding="utf-8")
    return text.replace("as_of: 2026-11-24", f"as_of: {as_of}") + extra


def _workspace(tmp_path: Path) -> Path:
    profiles = tmp_path / "ws" / "profiles"
    table_path(profiles).parent.mkdir(parents=True)
    table_path(profiles).write_text(BUNDLED.read_text(encoding="utf-8"), encoding="utf-8")
    return profiles


def test_import_a_newer_table(tmp_path):
    profiles = _workspace(tmp_path)
    new = tmp_path / "usb" / "releases-2026-12.yaml"
    new.parent.mkdir()
    new.write_text(_table_text("2026-12-10"), encoding="utf-8")
    summary = import_table(new, profiles)
    assert summary.as_of == date(2026, 12, 10)
    assert read_table(table_path(profiles)).as_of == date(2026, 12, 10)
    assert summary.builds[19045] == 11 and summary.gaps == 16


def test_an_older_table_is_refused_unless_forced(tmp_path):
    profiles = _workspace(tmp_path)
    old = tmp_path / "old.yaml"
    old.write_text(_table_text("2026-10-01"), encoding="utf-8")
    with pytest.raises(UsageError, match="older than the one in place"):
        import_table(old, profiles)
    assert read_table(table_path(profiles)).as_of == date(2026, 11, 24)
    assert import_table(old, profiles, force=True).as_of == date(2026, 10, 1)


def test_a_bad_table_names_file_line_and_field_and_changes_nothing(tmp_path):
    profiles = _workspace(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad_entry = (
        "  - product: Windows 10 version 22H2\n"
        "    build: 19045\n"
        "    revision: 7999\n"
        "    kb: KB12\n"
        "    released: 2026-12-08\n"
        "    verified: true\n"
    )
    bad.write_text(_table_text("2026-12-10", bad_entry), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        import_table(bad, profiles)
    lines = [str(p) for p in exc.value.problems]
    n = len(bad.read_text(encoding="utf-8").splitlines())
    assert f"{bad}:{n - 2}: kb: 'KB12' is not a KB number such as KB5068781" in lines
    assert f"{bad}:{n - 5}: source: a release with a revision must say where it comes from" in lines
    assert read_table(table_path(profiles)).as_of == date(2026, 11, 24)


def test_a_table_without_as_of_is_refused(tmp_path):
    bad = tmp_path / "windows-releases.yaml"
    bad.write_text(BUNDLED.read_text(encoding="utf-8").replace("as_of: 2026-11-24\n", ""))
    with pytest.raises(InputError, match="as_of: is required"):
        read_table(bad)


def test_release_age_needs_a_table_age_limit(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "profile: p\nrules:\n"
        "  - id: X-PATCH-01\n"
        "    title: {vi: Bản vá, en: Patches}\n"
        "    problem: {vi: Thiếu bản vá, en: Missing updates}\n"
        "    remediation: {vi: Cập nhật, en: Update}\n"
        "    severity: high\n"
        "    condition:\n"
        "      release_age: {catalog: windows-releases}\n"
        "      le: 35\n",
        encoding="utf-8",
    )
    root = sample_root()
    _ps, problems = validate_profiles(root / "profiles", root / "inventory", extra=[profile])
    assert any("release_age takes {catalog: NAME, max_table_age: DAYS}" in str(p) for p in problems)


def test_cli_import_and_show(tmp_path, run_cli):
    ws = tmp_path / "ws"
    assert run_cli("init", "-w", str(ws)).returncode == 0
    new = tmp_path / "new.yaml"
    new.write_text(_table_text("2026-12-10"), encoding="utf-8")
    result = run_cli("advisories", "import", str(new), "-w", str(ws))
    assert result.returncode == 0, result.output
    assert "as of 2026-12-10" in result.stdout and "26 verified" in result.stdout
    shown = run_cli("advisories", "show", "-w", str(ws))
    assert shown.returncode == 0 and "19045.7846" in shown.stdout
    old = tmp_path / "old.yaml"
    old.write_text(_table_text("2026-01-01"), encoding="utf-8")
    refused = run_cli("advisories", "import", str(old), "-w", str(ws))
    assert refused.returncode == 2 and "--force" in refused.stderr
