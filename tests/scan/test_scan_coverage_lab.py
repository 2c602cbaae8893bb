"""The unit's LAN by coverage, on a namespace lab with the real nmap: the sequences
that used to hide a state-secret machine, and what check, readiness and the unit
report then say (through the real CLI, JSON outputs).

Lab (one per module): a managed PC (S.10), the state-secret LAB-PC-011 (S.11,
SMB), a web device for spot scans (S.60), the state-secret LAB-PC-061 with IPv6
only (link-local address, no IPv4), a phone with a randomised MAC (S.62), and
a DNS server (S.53) that answers every query NXDOMAIN and logs it. Each
sequence runs in its own copy of the workspace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import labdata
import netlab
import pytest
from timeouts import scaled

from itaudit.workspace import sample_root

REPO = Path(__file__).resolve().parents[2]
SECRET_MAC = "00:14:22:1a:00:11"
RANDOM_MAC = "da:a1:19:00:00:62"
WITHOUT_RAW = ["setpriv", "--bounding-set=-net_raw"]

_DNS = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
log = open(sys.argv[1], "a", buffering=1)
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(512)
    i, labels = 12, []
    while i < len(data) and data[i]:
        labels.append(data[i + 1 : i + 1 + data[i]].decode("ascii", "replace"))
        i += 1 + data[i]
    qtype = int.from_bytes(data[i + 1 : i + 3], "big") if i + 3 <= len(data) else 0
    log.write(f"{qtype} {'.'.join(labels)}\n")
    # NXDOMAIN, the question echoed: the resolver stops asking at once.
    flags = (0x8183).to_bytes(2, "big")
    s.sendto(data[:2] + flags + data[4:6] + b"\0\0\0\0\0\0" + data[12 : i + 5], peer)
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


UNIT_PROFILE = """profile: {unit}
extends: level1
title: {{vi: "{unit}", en: "{unit}"}}
params:
  L1-ACC-03:
    allowed_local_admins: [quantri]
"""


class CoverageLab:
    def __init__(self, lab: netlab.Lab, site: labdata.LabSite, base: Path, root: Path):
        self.lab, self.site, self.base, self.root = lab, site, base, root
        self.dns_log = root / "dns.log"
        self.etc = root / "etc"

    def workspace(self, name: str) -> Path:
        ws = self.root / name
        shutil.copytree(self.base, ws)
        return ws

    def cli(self, ws: Path, *args: str, prefix: list[str] | None = None) -> Run:
        """`itaudit -w WS ARGS` with the lab's /etc/hosts (no lab names) and resolv.conf
        (the lab's DNS server), in a private mount namespace."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
        env["PYTHONIOENCODING"] = "utf-8"
        script = (
            'mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/resolv.conf" '
            '/etc/resolv.conf && exec "$@"'
        )
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
        cmd += [str(self.etc), *(prefix or []), sys.executable, "-m", "itaudit", "-w", str(ws)]
        proc = subprocess.run(
            [*cmd, *args], capture_output=True, env=env, timeout=scaled(180), cwd=REPO
        )
        return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode())

    def dns_queries(self) -> list[str]:
        return self.dns_log.read_text().splitlines() if self.dns_log.exists() else []


@pytest.fixture(scope="module")
def clab(tmp_path_factory):
    reason = netlab.unavailable_for_scans()
    if reason:
        pytest.skip(f"namespace lab unavailable: {reason}")
    if shutil.which("setpriv") is None or shutil.which("unshare") is None:
        pytest.skip("setpriv and unshare (util-linux) are needed")
    root = Path(tempfile.mkdtemp(prefix="itaudit-cov-", dir=tmp_path_factory.getbasetemp()))
    lab = netlab.Lab()
    dns = None
    try:
        lab.start()
        lab.add_host("managed", 10, "00:14:22:1a:00:10", (22,))
        lab.add_host("secret", 11, SECRET_MAC, (445,))
        lab.add_host("web", 60, "00:14:22:1a:00:60", (80,))
        v6 = lab.add_host("v6secret", 61, labdata.V6_SECRET_MAC)
        # IPv6 only: its IPv4 address removed, its link-local address stays.
        peer = netlab._ip("-n", v6.namespace, "-j", "link", "show")
        ifname = next(x["ifname"] for x in json.loads(peer.stdout) if x["ifname"] != "lo")
        netlab._ip("-n", v6.namespace, "addr", "flush", "dev", ifname, "scope", "global")
        lab.add_host("phone", 62, RANDOM_MAC)
        server = lab.add_host("dns", 53, "00:14:22:1a:00:53")
        site = labdata.LabSite(lab.network)
        clab = CoverageLab(lab, site, labdata.build_workspace(site, root / "base"), root)
        # The bundled profiles, so that check, readiness and report can run.
        profiles = sample_root() / "profiles"
        shutil.copy(profiles / "level1.yaml", clab.base / "profiles")
        shutil.copytree(profiles / "frameworks", clab.base / "profiles" / "frameworks")
        # The data files, except the port list: its tailoring names the sample's units.
        shutil.copytree(
            profiles / "data",
            clab.base / "profiles" / "data",
            ignore=shutil.ignore_patterns("scan-ports.yaml"),
        )
        (clab.base / "profiles" / "units").mkdir()
        for unit in ("lab", "annex"):
            (clab.base / "profiles" / "units" / f"{unit}.yaml").write_text(
                UNIT_PROFILE.format(unit=unit), encoding="utf-8"
            )
        clab.etc.mkdir()
        (clab.etc / "hosts").write_text("127.0.0.1 localhost\n", encoding="ascii")
        (clab.etc / "resolv.conf").write_text(
            f"nameserver {server.address}\noptions timeout:1 attempts:1\n", encoding="ascii"
        )
        dns = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                server.namespace,
                sys.executable,
                "-c",
                _DNS,
                str(clab.dns_log),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert dns.stdout is not None and dns.stdout.readline().strip() == "ready"
        yield clab
    finally:
        if dns is not None:
            dns.kill()
            dns.wait(timeout=scaled(10))
            dns.stdout.close()
        lab.close()


def _scan_json(run: Run) -> dict:
    assert run.returncode in (0, 1), run.stderr
    (scan,) = run.json()["scans"]
    return scan


def _outputs(clab: CoverageLab, ws: Path) -> dict[str, Run]:
    """What check, readiness and the unit report say after a sequence of scans."""
    check = clab.cli(ws, "check", "--format", "json")
    return {
        "check": check,
        "readiness": clab.cli(ws, "readiness", "--format", "json", "--lang", "en"),
        "report": clab.cli(ws, "report", "--unit", "lab", "-f", "json", "--stdout"),
    }


@pytest.fixture(scope="module")
def spot(clab):
    """A full scan of the unit (root), then a spot scan of one other address."""
    ws = clab.workspace("spot")
    full = _scan_json(clab.cli(ws, "scan", "--unit", "lab", "--format", "json", "--lang", "en"))
    later = clab.cli(
        ws, "scan", clab.site.a(60), "--ports", "80", "--format", "json", "--lang", "en"
    )
    return full, later, _outputs(clab, ws)


def _secret05(check: Run) -> dict[str, dict]:
    """L1-SECRET-05's result per asset tag, from `check --format json`."""
    assert check.returncode in (0, 1), check.stderr
    return {r["asset_tag"]: r for r in check.json()["results"] if r["rule"] == "L1-SECRET-05"}


def _lan_forbidden(outs: dict[str, Run]) -> dict[str, set[str]]:
    """The state-secret machines each output says are on the LAN."""
    check = {tag for tag, r in _secret05(outs["check"]).items() if r["status"] == "fail"}
    ready = outs["readiness"].json()
    readiness = {
        b["asset_tag"]
        for u in ready["units"]
        for b in u["blockers"]
        if b["item"] == "lan"
        and b["asset_tag"]
        and "must never be on a network" in b["problem"]["en"]
    }
    report = outs["report"].json()["lan"]
    reported = {f["device"] for f in report["findings"] if f["kind"] == "forbidden-device"}
    assert report["buckets"]["forbidden"] == len(reported)
    return {"check": check, "readiness": readiness, "report": reported}


SECRETS = {"LAB-PC-011", "LAB-PC-061"}


def test_a_spot_scan_adds_evidence_and_erases_none(spot, clab):
    full, later, _ = spot
    assert later.returncode == 1, later.stderr  # still a forbidden device on the LAN
    scan = _scan_json(later)
    assert scan["scan"]["target_key"] == f"{clab.site.a(60)}/32"
    by_tag = {d["asset_tag"]: d for d in scan["devices"] if d["asset_tag"]}
    secret = by_tag["LAB-PC-011"]
    assert (secret["bucket"], secret["carried"], secret["seen_scan"]) == (
        "forbidden",
        True,
        full["scan"]["id"],
    )
    assert scan["summary"]["forbidden"] == 2


def test_after_a_spot_scan_check_readiness_and_report_agree(spot):
    _, _, outs = spot
    assert _lan_forbidden(outs) == {"check": SECRETS, "readiness": SECRETS, "report": SECRETS}


def test_the_failure_says_where_and_when_the_machine_was_seen(spot, clab):
    full, _, outs = spot
    evidence = " ".join(_secret05(outs["check"])["LAB-PC-011"]["evidence"])
    when = full["scan"]["finished_at"][:16].replace("T", " ")
    assert f"{clab.site.a(11)} MAC {SECRET_MAC} {when} UTC scan #{full['scan']['id']}" in evidence
    action = next(
        p
        for a in outs["report"].json()["actions"]
        if a["asset_tag"] == "LAB-PC-011"
        for p in a["problems"]
        if p["rule"] == "L1-SECRET-05"
    )
    assert any(f"scan #{full['scan']['id']}" in e for e in action["evidence"])


def test_an_ipv6_only_state_secret_machine_is_forbidden(spot):
    full, _, _ = spot
    (v6,) = [d for d in full["devices"] if d["asset_tag"] == "LAB-PC-061"]
    assert v6["address"].startswith("fe80:") and v6["mac"] == labdata.V6_SECRET_MAC
    assert (v6["bucket"], v6["matched_by"], v6["method"]) == ("forbidden", "mac", "nd")
    assert full["scan"]["options"]["ipv6"] == "nd"
    assert not any(
        f["kind"] == "outside-subnets" for f in full["findings"] if f["address"] == v6["address"]
    )


def test_a_randomised_mac_is_named(spot):
    full, _, _ = spot
    (phone,) = [d for d in full["devices"] if d["mac"] == RANDOM_MAC]
    assert phone["randomised_mac"] is True and phone["bucket"] == "unknown"
    (finding,) = [
        f for f in full["findings"] if f["kind"] == "unknown-device" and f["mac"] == RANDOM_MAC
    ]
    assert f"MAC {RANDOM_MAC} is a randomised MAC" in finding["message"]


@pytest.fixture(scope="module")
def weaker(clab):
    """A scan of the unit as root, then the same scan without raw sockets (--diff)."""
    ws = clab.workspace("weaker")
    root = _scan_json(clab.cli(ws, "scan", "--unit", "lab", "--format", "json", "--lang", "en"))
    user = clab.cli(
        ws,
        "scan",
        "--unit",
        "lab",
        "--diff",
        "--format",
        "json",
        "--lang",
        "en",
        prefix=WITHOUT_RAW,
    )
    return root, user, _outputs(clab, ws)


def test_an_unprivileged_rescan_keeps_the_machine_forbidden(weaker, clab):
    _, user, _ = weaker
    assert user.returncode == 1, user.stderr
    scan = _scan_json(user)
    assert scan["scan"]["options"]["privileged"] is False
    (secret,) = [d for d in scan["devices"] if d["address"] == clab.site.a(11)]
    assert (secret["bucket"], secret["asset_tag"], secret["carried"]) == (
        "forbidden",
        "LAB-PC-011",
        False,
    )
    assert secret["mac"] == SECRET_MAC and secret["mac_source"] in ("neighbour", "earlier")
    # IPv6 needs raw sockets: this scan could not show the IPv6-only machine absent.
    (v6,) = [d for d in scan["devices"] if d["asset_tag"] == "LAB-PC-061"]
    assert (v6["bucket"], v6["carried"]) == ("forbidden", True)
    assert "IPv6 not covered" in user.stderr


def test_the_diff_says_the_methods_differ(weaker):
    root, user, _ = weaker
    diff = _scan_json(user)["diff"]
    assert diff["previous_scan"] == root["scan"]["id"]
    assert diff["methods"] == {"before": "raw", "now": "connect"} and diff["methods_differ"]
    assert diff["bucket_changes"] == []  # nothing demoted


def test_after_an_unprivileged_rescan_check_readiness_and_report_agree(weaker):
    _, _, outs = weaker
    assert _lan_forbidden(outs) == {"check": SECRETS, "readiness": SECRETS, "report": SECRETS}


def test_a_default_scan_asks_no_dns_and_resolve_asks_the_system_resolver(clab):
    ws = clab.workspace("dns")
    target = clab.site.a(10)
    before = len(clab.dns_queries())
    quiet = _scan_json(clab.cli(ws, "scan", target, "--ports", "none", "--format", "json"))
    assert "-n" in quiet["scan"]["options"]["nmap_arguments"]
    assert clab.dns_queries()[before:] == []
    asked = _scan_json(
        clab.cli(ws, "scan", target, "--ports", "none", "--resolve", "--format", "json")
    )
    assert "--system-dns" in asked["scan"]["options"]["nmap_arguments"]
    reverse = ".".join(reversed(target.split("."))) + ".in-addr.arpa"
    assert f"12 {reverse}" in clab.dns_queries()[before:]  # 12: a PTR query
