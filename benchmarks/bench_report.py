"""Report throughput: the department summary plus the 12 unit reports (HTML, and
optionally every format) for a store of N synthetic hosts.

Prints the time to build the figures (one pass over the check run), to render
and write the files, and the peak memory of the reporting process. Target on
the reference machine (2 cores): <= 20 s and <= 1 GB for 20,000 hosts.

    python benchmarks/bench_report.py                 # 20,000 hosts
    python benchmarks/bench_report.py --small         # 1,000 hosts (CI smoke)
    python benchmarks/bench_report.py --all-formats   # html, md, csv, xlsx, json

The store is filled like bench_check.py (the demo fleet's reports as
templates with new identities, bulk-inserted), then checked with the level-1
profiles; the reporting runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import NOW, fill_store


def prepare(url: str, hosts: int) -> float:
    from itaudit.check.runs import run_check
    from itaudit.org import load_organisation
    from itaudit.profiles import load_profiles
    from itaudit.store import open_store
    from itaudit.workspace import sample_root

    fill_store(url, hosts)
    root = sample_root()
    org = load_organisation(root / "inventory")
    profiles = load_profiles(root / "profiles", root / "inventory")
    store = open_store(url)
    started = time.perf_counter()
    run_check(store, org, profiles, now=NOW)
    store.close()
    return time.perf_counter() - started


def child(url: str, out: str, formats: list[str]) -> None:
    from itaudit.org import load_organisation
    from itaudit.report.figures import build_reports, load_framework_titles
    from itaudit.report.output import write_reports
    from itaudit.store import open_store
    from itaudit.workspace import sample_root

    root = sample_root()
    started = time.perf_counter()
    cpu_started = time.process_time()
    org = load_organisation(root / "inventory")
    store = open_store(url)
    frameworks = load_framework_titles(root / "profiles", root / "inventory")
    reports = build_reports(store, org, units=None, frameworks=frameworks)
    built = time.perf_counter()
    cpu_built = time.process_time()
    paths = write_reports(reports, org, Path(out), formats, "vi")
    done = time.perf_counter()
    cpu_done = time.process_time()
    print(
        json.dumps(
            {
                "build": built - started,
                "write": done - built,
                "total": done - started,
                # CPU seconds: on a shared machine the wall clock also counts waiting.
                "cpu_build": cpu_built - cpu_started,
                "cpu_total": cpu_done - cpu_started,
                "files": len(paths),
                "bytes": sum(p.stat().st_size for p in paths),
                "machines": reports.department.total.machines if reports.department else 0,
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--hosts", type=int, default=20_000, help="synthetic hosts (default 20,000)"
    )
    parser.add_argument("--small", action="store_true", help="1,000 hosts, for a smoke run")
    parser.add_argument(
        "--all-formats", action="store_true", help="html, md, csv, xlsx and json (default: html)"
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("URL", "OUT", "FORMATS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        url, out, formats = args.child
        child(url, out, formats.split(","))
        return
    hosts = 1_000 if args.small else args.hosts
    formats = "html,md,csv,xlsx,json" if args.all_formats else "html"
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        check_s = prepare(url, hosts)
        print(f"checked {hosts:,} hosts in {check_s:.1f} s (not part of the figure)")
        proc = subprocess.run(
            [sys.executable, __file__, "--child", url, str(Path(tmp) / "reports"), formats],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            sys.exit(f"reporting failed:\n{proc.stderr}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"department summary + 12 unit reports ({formats}) for {r['machines']:,} machines: "
        f"{r['total']:.2f} s (figures {r['build']:.2f} s, rendering and writing {r['write']:.2f} s; "
        f"CPU {r['cpu_total']:.2f} s, of which figures {r['cpu_build']:.2f} s), "
        f"{r['files']} files, {r['bytes'] / 1e6:.1f} MB, peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB "
        f"(target <= 20 s, <= 1 GiB)"
    )


if __name__ == "__main__":
    main()
