"""A killed check run does not stay "running" forever (issue 12, finding 9).

A process that stores a running check and is then SIGKILLed leaves the run
behind; the next check marks it failed and drops its partial results. A run
whose process is alive stays untouched; a run older than any run could take is
failed even when its process cannot be probed (another machine)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta

import sqlalchemy as sa

from itaudit.check import tables as ct
from itaudit.check.runs import run_check
from itaudit.check.stale import STALE_AFTER, mark_stale_runs, runner_id
from itaudit.org import load_organisation
from itaudit.profiles import load_profiles
from itaudit.store import open_store, utcnow
from itaudit.workspace import sample_root

_KILLED = textwrap.dedent(
    """
    import os, signal, sys
    import itaudit.check.tables as ct
    from itaudit.check.stale import runner_id
    from itaudit.store import open_store, utcnow
    store = open_store(sys.argv[1])
    with store.write() as conn:
        run = conn.execute(ct.check_runs.insert().values(
            started_at=utcnow(), checked_at=utcnow(), status="running", runner=runner_id(),
        )).inserted_primary_key[0]
        conn.execute(ct.check_results.insert().values(
            run_id=run, kind="host", passed=1, failed=0, errors=0, not_applicable=0,
            waived=0, results="{}",
        ))
    print(run, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _status(store, run_id):
    with store.read() as conn:
        status = conn.execute(
            sa.select(ct.check_runs.c.status).where(ct.check_runs.c.id == run_id)
        ).scalar_one()
        results = conn.execute(
            sa.select(sa.func.count())
            .select_from(ct.check_results)
            .where(ct.check_results.c.run_id == run_id)
        ).scalar_one()
    return status, results


def test_a_killed_run_is_marked_failed_by_the_next_check(store_url):
    open_store(store_url).close()
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED, store_url], capture_output=True, text=True, check=False
    )
    assert proc.returncode == -9, proc.stderr
    killed = int(proc.stdout.strip())
    store = open_store(store_url)
    try:
        assert _status(store, killed) == ("running", 1)
        alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        try:
            host = runner_id().rpartition(":")[0]
            with store.write() as conn:
                live = conn.execute(
                    ct.check_runs.insert().values(
                        started_at=utcnow(),
                        checked_at=utcnow(),
                        status="running",
                        runner=f"{host}:{alive.pid}",
                    )
                ).inserted_primary_key[0]
                old = conn.execute(
                    ct.check_runs.insert().values(
                        started_at=utcnow() - STALE_AFTER - timedelta(minutes=1),
                        checked_at=utcnow(),
                        status="running",
                        runner="another-collector:4242",
                    )
                ).inserted_primary_key[0]
            root = sample_root()
            org = load_organisation(root / "inventory")
            profiles = load_profiles(root / "profiles", root / "inventory")
            summary = run_check(store, org, profiles, unit="nghiatrang")
            assert _status(store, killed) == ("failed", 0)
            assert _status(store, old)[0] == "failed"
            assert _status(store, live)[0] == "running"  # its process is alive
            assert _status(store, summary.run_id)[0] == "complete"
        finally:
            alive.kill()
            alive.wait()
        assert mark_stale_runs(store) == [live]
    finally:
        store.close()
