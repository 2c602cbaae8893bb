"""The benchmark scripts still run (CI smoke test with their small sizes) and print
the figures they exist for. Their timings are never asserted: only that each script
measured what it says, on the counts it was given."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

# script -> patterns its --small output must hold (counts, and that each figure is printed)
EXPECTED = {
    "bench_agent.py": [
        r"agent collect \(1 run\(s\) on this machine, signed, \d+ packages\)",
        r"wall time\s+median \d+\.\d+ s",
        r"peak RSS\s+agent process \d+\.\d MB",
        r"bundle parse: \d+ bundles in \d+\.\d+ s = \d+ bundles/s",
    ],
    "bench_ingest.py": [
        r"500 file\(s\): 500 accepted, 0 duplicate, 0 rejected",
        r"ingest: \d+\.\d+ s, [\d,]+ reports/s .* peak RSS \d+ MiB",
    ],
    "bench_check.py": [
        r"check: 501 machines in \d+\.\d+ s = [\d,]+ hosts/s end to end",
        r"time split: read .* decode .* evaluate .* store",
    ],
    "bench_report.py": [
        r"department summary \+ 12 unit reports \(html\) for 1,001 machines: \d+\.\d+ s",
        r"13 files, .* peak RSS \d+ MiB",
    ],
    "bench_readiness.py": [
        r"readiness: \d+\.\d+ s to assess 501 machines .* blockers, (GO|NO-GO)",
        r"notice \(DOCX \d+ KiB \+ Markdown\)",
    ],
    "bench_scan.py": [
        r"itaudit scan: median \d+\.\d+ s",
        r"nmap alone:\s+median \d+\.\d+ s",
        r"ratio \d+\.\d+ of medians",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_benchmark_runs_small_and_prints_its_figures(script: str) -> None:
    if script == "bench_scan.py" and os.geteuid() != 0:
        pytest.skip("bench_scan.py builds a network-namespace lab: needs root")
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--small"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for pattern in EXPECTED[script]:
        assert re.search(pattern, result.stdout), (pattern, result.stdout)
