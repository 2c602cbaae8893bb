"""Holiday readiness over a large fleet: N synthetic hosts checked, then assessed.

Fills a fresh SQLite store with N synthetic hosts (bench_check.py's bulk path:
the demo fleet's reports, clean and planted, with new identities), runs the
check, then, in a child process, times `evaluate_readiness` for the next
holiday (one streamed pass over the run's machines), the terminal and JSON
views, and the draft notice (DOCX and Markdown) with every blocker. Prints the
seconds of each step, the number of blockers, and the child's peak RSS.
Target on the reference machine (2 cores): 100,000 hosts assessed in < 30 s,
< 1 GiB.

    python benchmarks/bench_readiness.py                  # 2,000 hosts
    python benchmarks/bench_readiness.py --small          # 500 hosts (CI smoke)
    python benchmarks/bench_readiness.py --hosts 100000   # the target size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import NOW, fill_store

TODAY = date(2026, 11, 23)


def child(url: str, out: str) -> None:
    from itaudit.check.runs import run_check
    from itaudit.org import load_organisation
    from itaudit.profiles import load_profiles
    from itaudit.readiness.evaluate import choose_holiday, evaluate_readiness
    from itaudit.readiness.notice import write_notice
    from itaudit.readiness.roster import load_roster
    from itaudit.readiness.view import as_json, text_report
    from itaudit.store import open_store
    from itaudit.workspace import sample_root

    root = sample_root()
    org = load_organisation(root / "inventory")
    profiles = load_profiles(root / "profiles", root / "inventory")
    roster = load_roster(root / "inventory" / "duty-roster.yaml", org.team)
    store = open_store(url)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    run_check(store, org, profiles, now=NOW)
    figures["check"] = time.perf_counter() - started
    rss_after_check = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    holiday = choose_holiday(org, TODAY)
    result = evaluate_readiness(store, org, profiles, holiday, TODAY, roster=roster)
    figures["evaluate"] = time.perf_counter() - started
    started = time.perf_counter()
    text_report(result, "vi")
    json.dumps(as_json(result), ensure_ascii=False)
    figures["views"] = time.perf_counter() - started
    started = time.perf_counter()
    write_notice(result, org, Path(out))
    figures["notice"] = time.perf_counter() - started
    print(
        json.dumps(
            {
                **figures,
                "machines": sum(u.machines for u in result.units),
                "blockers": len(result.blockers),
                "verdict": result.verdict,
                "rss_after_check_kib": rss_after_check,
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=2000, help="synthetic hosts (default 2,000)")
    parser.add_argument("--small", action="store_true", help="500 hosts, for a smoke run")
    parser.add_argument("--child", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        fill_store(url, 500 if args.small else args.hosts)
        proc = subprocess.run(
            [sys.executable, __file__, "--child", url, tmp],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            sys.exit(f"readiness failed ({proc.returncode}): {proc.stderr[-3000:]}")
        f = json.loads(proc.stdout.strip().splitlines()[-1])
        docx = next(Path(tmp).glob("*.docx")).stat().st_size
    n = f["machines"]
    print(f"check (not part of readiness): {n:,} machines in {f['check']:.2f} s")
    print(
        f"readiness: {f['evaluate']:.2f} s to assess {n:,} machines ({n / f['evaluate']:,.0f} machines/s), "
        f"{f['blockers']:,} blockers, {f['verdict']} (target: 100,000 machines in < 30 s)"
    )
    print(
        f"views (table + JSON): {f['views']:.2f} s; notice (DOCX {docx / 1024:.0f} KiB + Markdown): {f['notice']:.2f} s"
    )
    print(
        f"memory: peak RSS {f['peak_rss_kib'] / 1024:.0f} MiB "
        f"({f['rss_after_check_kib'] / 1024:.0f} MiB after the check) (target < 1 GiB)"
    )


if __name__ == "__main__":
    main()
