"""`itaudit scan` against nmap run directly with the same options, on a namespace LAN.

Builds the test lab of tests/scan (a bridge and network namespaces with real
listeners, see tests/scan/netlab.py and labdata.py) and a workspace for it,
then times, alternately, the full `itaudit scan` command (nmap, reconciliation
with the register and the agents' reports, storing, the printed tables) and
the plain `nmap` command with the scan options itaudit recorded. Prints the
median of each and their ratio (target: ratio <= 1.10), and the CPU time of
each with the load average: itaudit's own work overlaps nmap's waiting only
when a core is free, so on a busy machine the CPU figures tell its cost.

Needs root and iproute2 (network namespaces) and nmap.

    python benchmarks/bench_scan.py              # the lab /24, 7 runs each
    python benchmarks/bench_scan.py --repeat 3
    python benchmarks/bench_scan.py --small      # fewer hosts, 1 run each (CI smoke)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "scan"))
import labdata  # noqa: E402
import netlab  # noqa: E402


def itaudit_command() -> list[str]:
    """The installed `itaudit` script when it sits beside this Python, else `python -m itaudit`."""
    script = Path(sys.executable).with_name("itaudit")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "itaudit"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    """Wall time, and CPU time of the command with its children (nmap, for itaudit)."""
    cpu = _cpu()
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True)
    return time.perf_counter() - started, _cpu() - cpu, proc


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs of each command [7]")
    parser.add_argument("--small", action="store_true", help="4 lab hosts, 1 run each")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.small else 7)
    reason = netlab.unavailable()
    if reason:
        sys.exit(f"cannot build the namespace lab: {reason}")
    nmap = shutil.which("nmap")
    if nmap is None:
        sys.exit("nmap is not installed")
    hosts = labdata.HOSTS[:4] if args.small else labdata.HOSTS
    with tempfile.TemporaryDirectory() as tmp, netlab.Lab() as lab:
        for name, number, mac, ports in hosts:
            lab.add_host(name, number, mac, ports)
        site = labdata.LabSite(lab.network)
        ws = labdata.build_workspace(site, Path(tmp) / "ws")
        target = str(lab.network)
        # --no-ipv6: raw nmap below runs the IPv4 scan only (IPv6 discovery is a second run).
        scan = [*itaudit_command(), "-w", str(ws), "scan", target, "--unit", "lab", "--no-ipv6"]
        # First run: warms the caches both commands share, and tells nmap's options.
        _, _, first = timed([*scan, "--format", "json"])
        if first.returncode not in (0, 1):
            sys.exit(f"itaudit scan failed ({first.returncode}): {first.stderr.decode()[-1500:]}")
        options = json.loads(first.stdout)["scans"][0]["scan"]["options"]
        plain = [nmap, *options["nmap_arguments"], "-oX", "-", target]
        print(f"lab: {target}, {len(hosts)} namespace hosts + the bridge, {repeat} run(s) each")
        print("itaudit:", " ".join(scan))
        print("nmap:   ", " ".join(plain))
        ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
        for _ in range(repeat):
            t, cpu, proc = timed(scan)
            if proc.returncode not in (0, 1):
                sys.exit(f"itaudit scan failed: {proc.stderr.decode()[-1500:]}")
            ours.append(t)
            ours_cpu.append(cpu)
            t, cpu, proc = timed(plain)
            if proc.returncode != 0:
                sys.exit(f"nmap failed: {proc.stderr.decode()[-1500:]}")
            theirs.append(t)
            theirs_cpu.append(cpu)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"itaudit scan: median {a:.3f} s (min {min(ours):.3f}, max {max(ours):.3f})")
    print(f"nmap alone:   median {b:.3f} s (min {min(theirs):.3f}, max {max(theirs):.3f})")
    print(
        f"ratio {a / b:.3f} of medians (target <= 1.10), {min(ours) / min(theirs):.3f} of minimums; "
        f"itaudit's own time {1000 * (a - b):.0f} ms"
    )
    # Wall time suffers from other work on the machine; CPU time much less so.
    c, d = statistics.median(ours_cpu), statistics.median(theirs_cpu)
    print(
        f"CPU time (with nmap): itaudit scan {c:.3f} s, nmap alone {d:.3f} s; "
        f"itaudit's own {1000 * (c - d):.0f} ms; load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
