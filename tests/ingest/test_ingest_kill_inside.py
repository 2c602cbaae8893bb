"""SIGKILL *inside* a batch, at a known report, on both back ends (issue 12).

The ingest process is the real CLI, with one test-only change made in its own
process: after the N-th report is written into the open transaction it kills
itself with SIGKILL (deterministic, unlike killing from outside at a moment
chosen by timing). The store must then hold only the batches committed before,
no half report and no half host, and a re-run must store everything once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from timeouts import scaled

from itaudit.ingest import BATCH
from itaudit.store import open_store

N_REPORTS = BATCH + 30
DRIVER = textwrap.dedent(
    """
    import os, signal, sys
    import itaudit.ingest as ingest
    original = ingest.Ingestor._store_one
    written = [0]
    def store_one_then_die(self, conn, prepared, received):
        outcome = original(self, conn, prepared, received)
        written[0] += 1
        if written[0] == int(os.environ["KILL_AFTER"]):
            os.kill(os.getpid(), signal.SIGKILL)
        return outcome
    ingest.Ingestor._store_one = store_one_then_die
    from itaudit.cli import main
    sys.exit(main())
    """
)


@pytest.mark.parametrize("kill_after", [7, BATCH + 7], ids=["first-batch", "second-batch"])
def test_kill_inside_a_batch_leaves_whole_batches_and_reruns_clean(
    kill_after, store_url, tmp_path, make_report, workspace
):
    folder = tmp_path / "usb"
    folder.mkdir()
    for i in range(N_REPORTS):
        (folder / f"r{i:04d}.json").write_text(json.dumps(make_report(f"MID-{i:04d}")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    env["KILL_AFTER"] = str(kill_after)
    args = ["-w", str(workspace.root), "--store", store_url, "ingest", "-q", str(folder)]
    killed = subprocess.run(
        [sys.executable, "-c", DRIVER, *args],
        capture_output=True,
        env=env,
        timeout=scaled(300),
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    committed = (kill_after // BATCH) * BATCH  # whole batches before the one killed
    store = open_store(store_url)
    try:
        assert store.integrity_check() == []
        counts = store.counts()
        assert counts["reports"] == committed
        assert counts["hosts"] == committed  # no host without its report
    finally:
        store.close()
    rerun = subprocess.run(
        [sys.executable, "-m", "itaudit", *args],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if k != "KILL_AFTER"},
        timeout=scaled(300),
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    store = open_store(store_url)
    try:
        counts = store.counts()
        assert counts["reports"] == counts["hosts"] == N_REPORTS
        assert store.integrity_check() == []
    finally:
        store.close()
