"""Check throughput: N synthetic hosts in an SQLite store, checked with the level-1 profiles.

Prints hosts per second end to end (read from the store, decode, evaluate
every rule, store the results), the peak memory of the checking process, and
how the time splits between reading, decoding stored JSON, evaluating rules
and storing results. Target on the reference machine (2 cores):
>= 10,000 hosts/s and < 1 GB for 100,000 hosts.

    python benchmarks/bench_check.py                  # 2,000 hosts
    python benchmarks/bench_check.py --small          # 500 hosts (CI smoke)
    python benchmarks/bench_check.py --hosts 100000   # the target size

How the store is filled (a documented bulk path, not `itaudit ingest`): the
demo fleet's reports (clean machines and planted defects, unsigned) are the
templates; each synthetic host is a template with a new identity (host name,
hardware UUID, serial, MAC, report id), matched to the template's register
entry, written straight into the `hosts` and `reports` tables in the shape
ingest writes. Ingest itself is measured by bench_ingest.py.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def fill_store(url: str, count: int) -> float:
    """Create `count` hosts with one report each; return the seconds taken."""
    import orjson

    from itaudit.demo.generate import generate
    from itaudit.org import load_organisation
    from itaudit.store import open_store, to_naive_utc
    from itaudit.store import tables as t
    from itaudit.workspace import sample_root

    started = time.perf_counter()
    org = load_organisation(sample_root() / "inventory")
    templates = []
    for _name, doc in generate(org, now=NOW):
        doc.pop("signature", None)
        doc["agent"]["collector"] = "synthetic"
        tag = doc["identity"].get("asset_tag")
        asset = org.asset(tag) if tag else None
        templates.append((doc, asset))
    store = open_store(url)
    received = to_naive_utc(datetime.now(UTC))
    batch = 5000
    with store.write() as conn:
        for start in range(0, count, batch):
            hosts, reports = [], []
            for i in range(start, min(start + batch, count)):
                base, asset = templates[i % len(templates)]
                ident = uuid.UUID(int=(i + 1) * 7919, version=4)
                doc = dict(base)
                doc["report_id"] = str(uuid.UUID(int=(i + 1) * 104729, version=4))
                doc["identity"] = dict(
                    base["identity"],
                    hostname=f"SYN-{i:07d}",
                    hardware_uuid=str(ident),
                    serial=f"SYN{i:09d}",
                    macs=["00:1b:21:" + ":".join(f"{b:02x}" for b in i.to_bytes(3, "big"))],
                )
                text = orjson.dumps(doc).decode()
                collected = to_naive_utc(
                    datetime.fromisoformat(doc["collected_at"].replace("Z", "+00:00"))
                )
                hosts.append(
                    {
                        "id": i + 1,
                        "hostname": doc["identity"]["hostname"],
                        "hostname_key": doc["identity"]["hostname"].lower(),
                        "hardware_uuid": str(ident),
                        "serial": doc["identity"]["serial"],
                        "platform": doc["platform"],
                        "unit": asset.unit if asset else doc.get("unit"),
                        "unit_source": "register" if asset else "agent",
                        "asset_tag": asset.tag if asset else None,
                        "match_method": "serial" if asset else None,
                        "first_seen": received,
                        "last_collected_at": collected,
                    }
                )
                reports.append(
                    {
                        "id": i + 1,
                        "host_id": i + 1,
                        "content_hash": f"{i + 1:064x}",
                        "report_uuid": doc["report_id"],
                        "collected_at": collected,
                        "received_at": received,
                        "source": "bench",
                        "collector": "synthetic",
                        "agent_version": doc["agent"]["version"],
                        "signature_state": "unsigned",
                        "size_bytes": len(text),
                        "document": text,
                    }
                )
            conn.execute(t.hosts.insert(), hosts)
            conn.execute(t.reports.insert(), reports)
        conn.execute(
            t.hosts.update()
            .where(t.hosts.c.latest_report_id.is_(None))
            .values(latest_report_id=t.hosts.c.id)
        )
    with store.read() as conn:
        size = conn.execute(sa.select(sa.func.sum(t.reports.c.size_bytes))).scalar_one()
    store.close()
    print(
        f"store filled: {count:,} hosts, {size / count / 1024:.1f} KiB per report, in {time.perf_counter() - started:.1f} s"
    )
    return time.perf_counter() - started


def child(url: str, workers: int | None) -> None:
    """Run the check in this process and print figures as JSON (peak RSS included)."""
    from itaudit.check.runs import run_check
    from itaudit.org import load_organisation
    from itaudit.profiles import load_profiles
    from itaudit.store import open_store
    from itaudit.workspace import sample_root

    root = sample_root()
    org = load_organisation(root / "inventory")
    profiles = load_profiles(root / "profiles", root / "inventory")
    store = open_store(url)
    started = time.perf_counter()
    summary = run_check(store, org, profiles, now=NOW, workers=workers)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest worker
    print(
        json.dumps(
            {
                "elapsed": elapsed,
                "machines": summary.totals["machines"],
                "timings": summary.timings,
                "peak_rss_kib": peak,
                "worker_peak_rss_kib": workers_peak,
                "failed": summary.totals["failed"],
                "errors": summary.totals["errors"],
                "workers": summary.timings["workers"],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--hosts",
        type=int,
        default=2000,
        help="synthetic hosts (default 2,000; target figures use 100,000)",
    )
    parser.add_argument(
        "--store", help="store URL to fill (default: a fresh SQLite file); must be empty"
    )
    parser.add_argument("--small", action="store_true", help="500 hosts, for a smoke run")
    parser.add_argument(
        "--workers",
        type=int,
        help="evaluating processes (default: the checker's choice, one per CPU for big fleets)",
    )
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workers)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.store or f"sqlite:///{Path(tmp) / 'bench.db'}"
        fill_store(url, 500 if args.small else args.hosts)
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                url,
                *(["--workers", str(args.workers)] if args.workers else []),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            sys.exit(f"check failed ({proc.returncode}): {proc.stderr[-3000:]}")
        figures = json.loads(proc.stdout.strip().splitlines()[-1])
    t = figures["timings"]
    n = figures["machines"]
    if (
        t["read"] is None
    ):  # with workers: seconds summed over them; reading is the rest of their time
        t["read"] = max(
            figures["elapsed"] * figures["workers"] - t["decode"] - t["evaluate"] - t["store"], 0.0
        )
    work = t["read"] + t["decode"] + t["evaluate"] + t["store"]
    print(
        f"check: {n:,} machines in {figures['elapsed']:.2f} s = {n / figures['elapsed']:,.0f} hosts/s end to end "
        f"(target >= 10,000), {figures['workers']} evaluating process(es)"
    )
    total_peak = (
        figures["peak_rss_kib"]
        + (figures["workers"] if figures["workers"] > 1 else 0) * figures["worker_peak_rss_kib"]
    )
    print(
        f"memory: peak RSS {figures['peak_rss_kib'] / 1024:.0f} MiB for the checking process"
        + (
            f", {figures['worker_peak_rss_kib'] / 1024:.0f} MiB for the largest worker"
            if figures["workers"] > 1
            else ""
        )
        + f"; {total_peak / 1024:.0f} MiB at most together (target < 1 GiB)"
    )
    print(
        "time split: "
        + ", ".join(
            f"{k} {t[k]:.2f} s ({t[k] / work * 100:.0f}%)"
            for k in ("read", "decode", "evaluate", "store")
        )
        + f"; decoding JSON is {t['decode'] / (t['decode'] + t['evaluate']) * 100:.0f}% of decode + evaluate"
    )
    print(f"results: {figures['failed']:,} failed, {figures['errors']:,} unknown")


if __name__ == "__main__":
    main()
