"""Benchmark the agent: `agent collect` wall time and peak memory, bundle parse throughput.

    python benchmarks/bench_agent.py           # 5 collections, 20 passes over the fixtures
    python benchmarks/bench_agent.py --small   # CI smoke: 1 collection, 2 passes

Targets (issue 4): collect <= 3 s wall time and <= 60 MB peak RSS on this
machine. Figures are printed, never asserted. Peak RSS is measured twice:
the agent's own Python process (ru_maxrss reported by the process itself at
exit) and the largest of every process it started (RUSAGE_CHILDREN seen from
here, which includes apt and the other commands it runs). CPU time (user +
system of the agent and of every command it ran) is printed beside wall time:
on a machine shared with other work it moves far less than wall time does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "agent" / "fixtures"

# Runs the real CLI in-process and reports that process's own peak RSS (kB) on stderr.
WRAPPER = """
import resource, runpy, sys
sys.argv = ["itaudit", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("itaudit", run_name="__main__")
except SystemExit as exc:
    code = exc.code or 0
sys.stderr.write(f"\\nPEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
sys.exit(code)
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_collect(runs: int) -> dict:
    walls, own, cpus = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "key.pem"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
        for i in range(runs):
            out = Path(tmp) / f"r{i}.json"
            t0, cpu0 = time.perf_counter(), _children_cpu()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    WRAPPER,
                    "agent",
                    "collect",
                    "--key",
                    str(key),
                    "--out",
                    str(out),
                ],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp,
            )
            walls.append(time.perf_counter() - t0)
            cpus.append(_children_cpu() - cpu0)
            if proc.returncode != 0:
                raise SystemExit(f"agent collect failed: {proc.stderr}")
            own.append(int(proc.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0]))
        report = json.loads(out.read_text(encoding="utf-8"))
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "runs": runs,
        "wall_median_s": statistics.median(walls),
        "wall_max_s": max(walls),
        "cpu_median_s": statistics.median(cpus),
        "agent_reported_ms": report["agent"]["duration_ms"],
        "peak_rss_agent_mb": max(own) / 1024,
        "peak_rss_any_child_mb": children_kb / 1024,
        "errors_in_report": len(report["errors"]),
        "packages": len(report["software"]),
    }


def bench_parse(passes: int) -> dict:
    sys.path.insert(0, str(REPO))
    from itaudit.agent.catalog import load_catalog
    from itaudit.agent.collect import parse_bundle

    catalog = load_catalog()
    bundles = sorted(p / "bundle" for p in FIXTURES.iterdir() if (p / "bundle").is_dir())
    parse_bundle(bundles[0], catalog)  # warm imports and the schema validator
    t0 = time.perf_counter()
    count = 0
    for _ in range(passes):
        for b in bundles:
            parse_bundle(b, catalog)
            count += 1
    elapsed = time.perf_counter() - t0
    return {"bundles": count, "seconds": elapsed, "bundles_per_s": count / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--small", action="store_true", help="one collection and two parse passes (CI smoke)"
    )
    args = parser.parse_args()
    runs, passes = (1, 2) if args.small else (5, 20)

    c = bench_collect(runs)
    print(f"agent collect ({c['runs']} run(s) on this machine, signed, {c['packages']} packages):")
    print(
        f"  wall time   median {c['wall_median_s']:.2f} s, max {c['wall_max_s']:.2f} s   (target <= 3 s)"
    )
    print(
        f"  CPU time    median {c['cpu_median_s']:.2f} s (user + system: the agent and every"
        " command it ran)"
    )
    print(
        f"  probes      {c['agent_reported_ms']} ms as reported in the report (agent.duration_ms)"
    )
    print(f"  peak RSS    agent process {c['peak_rss_agent_mb']:.1f} MB   (target <= 60 MB)")
    print(f"              largest process it ran (apt...) {c['peak_rss_any_child_mb']:.1f} MB")
    print(
        f"  errors      {c['errors_in_report']} thing(s) this machine could not show (see the report)"
    )
    p = bench_parse(passes)
    print(
        f"bundle parse: {p['bundles']} bundles in {p['seconds']:.2f} s = {p['bundles_per_s']:.0f} bundles/s"
    )


if __name__ == "__main__":
    main()
