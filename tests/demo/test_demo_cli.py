"""`itaudit demo` end to end, through the real CLI."""

from __future__ import annotations

import json

from itaudit.store import open_store
from itaudit.workspace import Workspace


def test_demo_runs_the_chain_in_a_new_workspace(tmp_path, run_cli, sample_org):
    target = tmp_path / "demo"
    result = run_cli("demo", "--workspace", str(target), timeout=120)
    assert result.returncode == 0, result.output
    out = result.stdout
    assert "Register: 12 units, 423 assets (314 computers)" in out
    assert "generated 314 sample reports" in out
    assert "314 accepted, 0 duplicate, 0 rejected" in out
    store = open_store(Workspace(target).store_url())
    try:
        hosts = store.hosts()
        assert len(hosts) == 314
        assert sum(1 for h in hosts if h.asset_tag) == 313  # the unregistered machine has none
        assert store.host("NTLS-PC003") is None  # never reports
        assert store.integrity_check() == []
    finally:
        store.close()


def test_demo_twice_adds_history_not_hosts(tmp_path, run_cli):
    target = tmp_path / "demo"
    assert run_cli("demo", "-w", str(target), timeout=120).returncode == 0
    again = run_cli("demo", "-w", str(target), timeout=120)
    assert again.returncode == 0, again.output
    hosts = json.loads(run_cli("hosts", "-w", str(target), "-f", "json").stdout)
    assert len(hosts) == 314


def test_demo_refuses_a_store_with_real_reports(tmp_path, run_cli, make_report):
    target = tmp_path / "office"
    assert run_cli("init", "-w", str(target)).returncode == 0
    real = make_report("REAL-PC01")
    real["agent"]["collector"] = "python"
    (tmp_path / "real.json").write_text(json.dumps(real))
    assert run_cli("ingest", "-w", str(target), str(tmp_path / "real.json")).returncode == 0
    result = run_cli("demo", "-w", str(target))
    assert result.returncode == 2
    assert "holds 1 real report(s)" in result.stderr
    hosts = json.loads(run_cli("hosts", "-w", str(target), "-f", "json").stdout)
    assert [h["hostname"] for h in hosts] == ["REAL-PC01"]
