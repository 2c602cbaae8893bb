"""Linux parsers on recorded output, and the live context's result statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from itaudit.agent.context import LinuxContext, Status
from itaudit.agent.keys import default_key_path
from itaudit.agent.probes.linux import firewall, network, patches, security

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_default_route_is_little_endian_hex():
    table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    assert network.parse_route(table) == [("eth0", "192.168.1.1")]


def test_apt_list_marks_security_pocket():
    out = (
        "Listing...\n"
        "libssl3t64/noble-updates,noble-security 3.0.13-0ubuntu3.2 amd64 [upgradable from: 3.0.13-0ubuntu3.1]\n"
        "tzdata/noble-updates 2024a-3ubuntu1.1 all [upgradable from: 2024a-2ubuntu1]\n"
        "qemu-guest-agent/jammy-updates 1:6.2+dfsg-2ubuntu6.5 amd64 [upgradable from: 1:6.2+dfsg-2ubuntu6.4]\n"
        "N: There is 1 additional version. Please use the '-a' switch to see it\n"
    )
    assert [(p["id"], p["security"]) for p in patches.parse_apt_list(out)] == [
        ("libssl3t64=3.0.13-0ubuntu3.2", True),
        ("tzdata=2024a-3ubuntu1.1", False),
        ("qemu-guest-agent=1:6.2+dfsg-2ubuntu6.5", False),
    ]


def test_apt_list_of_old_apt_puts_the_bracket_before_the_architecture():
    # apt 0.9/1.0 (apt-private/private-output.cc then): version, [upgradable from: x], arch.
    line = "openssl/wheezy-security 1.0.1e-2+deb7u20 [upgradable from: 1.0.1e-2+deb7u19] amd64 "
    assert patches.parse_apt_list(line) == [
        {"id": "openssl=1.0.1e-2+deb7u20", "title": None, "security": True}
    ]


def test_recorded_apt_list_of_this_machine():
    text = (
        FIXTURES / "linux-debian12-container" / "bundle" / "apt-list-upgradable.txt"
    ).read_text()
    pending = {p["id"]: p["security"] for p in patches.parse_apt_list(text)}
    # Lines of the recording: apt/oldstable-security 2.6.2, base-files/oldstable 12.4+deb12u15.
    assert (pending["apt=2.6.2"], pending["base-files=12.4+deb12u15"]) == (True, False)
    assert len(pending) == text.count("[upgradable from: ")


def test_clamav_header_uses_the_epoch_field():
    moment, version = security.clamav_header(
        "ClamAV-VDB:16 Apr 2020 07-58 -0400:25784:2267600:63:92ba:sig:raynman:1587038297"
    )
    assert (moment.isoformat(), version) == ("2020-04-16T11:58:17+00:00", "25784")


def test_ufw_status_verbose():
    text = "Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n"
    assert firewall.parse_ufw_status(text) == {
        "name": "ufw",
        "enabled": True,
        "default_inbound": "block",
        "default_outbound": "allow",
    }


def test_nft_input_drop_policy_blocks():
    ruleset = {
        "nftables": [
            {"metainfo": {"json_schema_version": 1}},
            {"table": {"family": "inet", "name": "filter"}},
            {
                "chain": {
                    "family": "inet",
                    "table": "filter",
                    "name": "input",
                    "type": "filter",
                    "hook": "input",
                    "prio": 0,
                    "policy": "drop",
                }
            },
            {
                "chain": {
                    "family": "inet",
                    "table": "filter",
                    "name": "output",
                    "type": "filter",
                    "hook": "output",
                    "prio": 0,
                    "policy": "accept",
                }
            },
        ]
    }
    assert firewall.parse_nft(json.dumps(ruleset)) == {
        "name": "nftables",
        "enabled": True,
        "default_inbound": "block",
        "default_outbound": "allow",
        "rules": 0,
    }


def test_nft_without_input_hook_is_no_firewall():
    assert firewall.parse_nft('{"nftables": [{"metainfo": {}}]}')["enabled"] is False


def test_sshd_t_output():
    assert (
        security.parse_sshd_t(
            "port 22\npermitrootlogin without-password\npasswordauthentication no\n"
        )["passwordauthentication"]
        == "no"
    )


def test_live_context_statuses(tmp_path):
    ctx = LinuxContext()
    assert ctx.read_text("x", str(tmp_path / "missing")).status is Status.ABSENT
    assert ctx.read_text("x", str(tmp_path)).status is Status.FAILED
    assert ctx.run("x", ["no-such-program-itaudit"]).status is Status.ABSENT
    failed = ctx.run("x", ["sh", "-c", "echo oops >&2; exit 3"])
    assert (failed.status, failed.exit_code, failed.message) == (Status.FAILED, 3, "oops")
    assert ctx.run("x", ["sleep", "5"], timeout=0.2).status is Status.TIMEOUT
    assert ctx.run("x", ["sh", "-c", "echo $LC_ALL"]).value.strip() == "C"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_live_context_reports_denied_for_an_unreadable_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x")
    secret.chmod(0o600)
    tmp_path.chmod(0o755)
    code = f"from itaudit.agent.context import LinuxContext; print(LinuxContext().read_text('s', {str(secret)!r}).status)"
    root = str(Path(__file__).resolve().parents[2])
    # The test interpreter may live under /root; the system one can be run by nobody.
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    proc = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        user=65534,
        env={"PYTHONPATH": root, "PATH": os.environ["PATH"]},
        cwd="/",
    )
    if proc.returncode != 0 and "Permission denied" in proc.stderr:
        pytest.skip(f"no interpreter another user may run: {proc.stderr[-200:]}")
    assert proc.stdout.strip() == "denied", proc.stderr


def test_default_key_locations():
    assert str(default_key_path("linux", {}, euid=0)) == "/etc/itaudit/agent-key.pem"
    assert (
        str(
            default_key_path(
                "linux", {"XDG_CONFIG_HOME": "/home/a/.cfg", "HOME": "/home/a"}, euid=1000
            )
        )
        == "/home/a/.cfg/itaudit/agent-key.pem"
    )
    assert (
        str(default_key_path("linux", {"HOME": "/home/a"}, euid=1000))
        == "/home/a/.config/itaudit/agent-key.pem"
    )
    assert (
        str(default_key_path("win32", {"ProgramData": "D:\\ProgramData"}))
        == "D:\\ProgramData\\itaudit\\agent-key.pem"
    )
