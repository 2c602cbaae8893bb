"""Ingest throughput: N synthetic reports into a fresh SQLite store, through the real CLI.

Prints reports per second and the ingest process's peak memory. Target on the
reference machine (2 cores): >= 1,000 reports/s.

    python benchmarks/bench_ingest.py            # 10,000 reports
    python benchmarks/bench_ingest.py --small    # 500 reports (CI smoke)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import synthetic_reports


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--small", action="store_true", help="500 reports, for a smoke run")
    parser.add_argument("--store", help="store URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    count = 500 if args.small else args.reports
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "reports"
        folder.mkdir()
        started = time.perf_counter()
        total_bytes = 0
        for i, doc in enumerate(synthetic_reports(count)):
            data = json.dumps(doc, ensure_ascii=False)
            total_bytes += len(data)
            (folder / f"r{i:07d}.json").write_text(data, encoding="utf-8")
        print(
            f"generated {count:,} reports ({total_bytes / count / 1024:.1f} KiB each) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        store = args.store or f"sqlite:///{Path(tmp) / 'bench.db'}"
        workspace = Path(tmp) / "ws"
        cmd = [
            sys.executable,
            "-m",
            "itaudit",
            "-w",
            str(workspace),
            "--store",
            store,
            "ingest",
            "-q",
            str(folder),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            sys.exit(f"ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(proc.stdout.strip().splitlines()[-1])
        print(
            f"ingest: {elapsed:.2f} s, {count / elapsed:,.0f} reports/s (target >= 1,000), "
            f"peak RSS {after.ru_maxrss / 1024:.0f} MiB"
        )
        # CPU time tells a slow machine from a busy one: wall time counts other
        # processes' share of the cores, CPU time only ours.
        print(
            f"ingest CPU: {cpu:.2f} s user+system, {count / cpu:,.0f} reports per CPU-second; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )


if __name__ == "__main__":
    main()
