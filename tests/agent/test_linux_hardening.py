"""Linux hardening facts (issue 11 item 5) on recorded outputs and small bundles.

Recorded on the development machine (Debian 12, no systemd): `ss`, `/proc/net/*` with the
socket owners, modprobe.d, the /etc/shadow status, stat, the shell profiles, apt-config.
Small cases are written by BundleWriter and replayed through BundleContext, as the
fixtures are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from itaudit.agent.bundle import Bundle, BundleContext, BundleWriter
from itaudit.agent.catalog import load_catalog
from itaudit.agent.collect import new_report
from itaudit.agent.context import Kind, Result, Status
from itaudit.agent.probes.base import ProbeRun
from itaudit.agent.probes.linux import autoupdates, hardening, listening
from itaudit.agent.probes.linux.hardening import HardeningProbe

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOSYSTEMD = FIXTURES / "linux-debian12-nosystemd"
SYSTEMD = FIXTURES / "linux-debian12-systemd"


def _run(tmp_path: Path, *sources: tuple[Kind, Result], elevated: bool = True) -> ProbeRun:
    writer = BundleWriter(tmp_path / "bundle", "linux")
    for kind, result in sources:
        writer.add(kind, result.source, result, 1)
    writer.finish("2026-12-04T10:00:00Z", elevated, "host", 0)
    ctx = BundleContext(Bundle.open(tmp_path / "bundle"))
    report = new_report("linux", datetime(2026, 12, 4, tzinfo=UTC), None, "python", "r")
    report["os"]["kernel"] = "6.1.0-28-amd64"
    report["security"]["accounts"] = {"builtin_admin": None, "guest": None, "uid0": ["root"]}
    return ProbeRun(ctx, load_catalog(), report, datetime(2026, 12, 4, tzinfo=UTC))


def _errors(run: ProbeRun) -> list[tuple[str, str]]:
    return [(e["probe"], e["kind"]) for e in run.report["errors"]]


def _file(source: str, value: str | None = None, status: Status = Status.OK):
    return Kind.FILE, Result(source, status, value, "" if value is not None else "does not exist")


def _dir(source: str, names: list[str] | None, status: Status = Status.OK):
    return Kind.LISTDIR, Result(source, status, names, "" if names is not None else "absent")


def _cmd(source: str, value: str | None, status: Status = Status.OK, code: int | None = 0, msg=""):
    return Kind.COMMAND, Result(source, status, value, msg, code)


# -- listening sockets -----------------------------------------------------------


def test_recorded_ss_names_each_socket_with_its_owner():
    socks = listening.parse_ss((NOSYSTEMD / "bundle" / "ss-listening.txt").read_text())
    names = {s["name"]: s for s in socks}
    assert len(socks) == 11
    assert names["127.0.0.1:6379/tcp (redis-server)"]["loopback"] is True
    assert names["[::1]:6379/tcp (redis-server)"]["pid"] == 2223
    # A socket whose owner lives outside the container: no users column, still reported.
    assert names["0.0.0.0:2024/tcp"] == {
        "name": "0.0.0.0:2024/tcp",
        "protocol": "tcp",
        "address": "0.0.0.0",
        "port": 2024,
        "process": None,
        "pid": None,
        "loopback": False,
    }


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("*:22", ("0.0.0.0", 22)),
        ("[::]:22", ("::", 22)),
        ("127.0.0.53%lo:53", ("127.0.0.53", 53)),
        ("[fe80::1%eth0]:123", ("fe80::1", 123)),
        ("0.0.0.0:*", None),
    ],
)
def test_ss_endpoints(text, want):
    assert listening.split_endpoint(text) == want


def test_without_ss_proc_net_and_the_fd_links_give_the_same_sockets():
    ctx = BundleContext(Bundle.open(NOSYSTEMD / "bundle-no-ss"))
    report = new_report("linux", datetime(2026, 12, 4, tzinfo=UTC), None, "python", "r")
    run = ProbeRun(ctx, load_catalog(), report, datetime(2026, 12, 4, tzinfo=UTC))
    fallback = listening.read_listening(run)
    recorded = listening.parse_ss((NOSYSTEMD / "bundle" / "ss-listening.txt").read_text())
    assert fallback is not None
    assert sorted((s["name"], s["loopback"]) for s in fallback) == sorted(
        (s["name"], s["loopback"]) for s in recorded
    )
    assert report["errors"] == []


def test_no_socket_source_at_all_is_unknown_with_the_reason(tmp_path):
    run = _run(tmp_path, _cmd("ss-listening", None, Status.ABSENT, None, "ss is not installed"))
    assert listening.read_listening(run) is None
    assert ("security.listening", "absent") in _errors(run)


def test_proc_net_ipv6_addresses_are_decoded():
    # Kernel byte order per 32-bit word: ::1 and :: as /proc/net/tcp6 prints them.
    line = (
        "  0: 00000000000000000000000001000000:18EB 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000   110        0 4525 1 0 100 0 0 10 0\n"
    )
    assert listening.parse_proc_net("header\n" + line, "tcp", "0A") == [("::1", 6379, "4525")]


# -- legacy services, logging -------------------------------------------------------


def test_telnet_port_and_inetd_process_are_legacy_but_syslog_udp_514_is_not(tmp_path):
    procs = [{"pid": 1, "name": "inetd"}, {"pid": 2, "name": "rsyslogd"}]
    ss = (
        'tcp LISTEN 0 64 0.0.0.0:23 0.0.0.0:* users:(("inetd",pid=1,fd=5))\n'
        'udp UNCONN 0 0 0.0.0.0:514 0.0.0.0:* users:(("rsyslogd",pid=2,fd=6))\n'
    )
    run = _run(
        tmp_path,
        (Kind.PROCESSES, Result("processes", Status.OK, procs)),
        _file("proc-1-comm", "init\n"),
        (Kind.SERVICES, Result("services", Status.UNSUPPORTED, message="systemd is not running")),
        _dir("init-d", ["inetd", "rsyslog"]),
        _cmd("ss-listening", ss),
    )
    HardeningProbe().collect(run)
    sec = run.report["security"]
    assert sec["legacy_services"] == [
        {"name": "inetd", "via": "service"},
        {"name": "telnet (0.0.0.0:23/tcp (inetd))", "via": "port"},
    ]
    assert sec["logging"] == {
        "syslog_running": True,
        "syslog_daemon": "rsyslogd",
        "audit_running": False,
    }


def test_the_kernel_audit_thread_is_not_auditd(parsed):
    # linux-debian12-nosystemd runs kauditd (a kernel thread) and no auditd.
    assert parsed("linux-debian12-nosystemd")["security"]["logging"]["audit_running"] is False
    assert parsed("linux-debian12-systemd")["security"]["logging"] == {
        "syslog_running": True,
        "syslog_daemon": "rsyslog",
        "audit_running": False,
    }


# -- USB storage ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("install usb-storage /bin/false\n", True),
        ("install usb_storage /usr/bin/true\n", True),
        ("blacklist usb_storage\n", True),
        ("# blacklist usb-storage\n", False),
        ("install usb-storage /sbin/modprobe --ignore-install usb-storage\n", False),
        ("options usb-storage quirks=0bc2:2320:\n", False),
    ],
)
def test_modprobe_lines(text, blocked):
    assert (hardening.usb_storage_rule("/etc/modprobe.d/x.conf", text) is not None) is blocked


def _usb_sources(conf: str | None, modules: str, builtin: str | None, storage: list[str] | None):
    etc = ["usb.conf"] if conf is not None else None
    out = [
        _file("proc-modules", modules),
        _dir("etc-modprobe.d", etc, Status.OK if etc else Status.ABSENT),
        _dir("run-modprobe.d", None, Status.ABSENT),
        _dir("usr-lib-modprobe.d", None, Status.ABSENT),
        _dir("lib-modprobe.d", None, Status.ABSENT),
        _file("modules-builtin", builtin, Status.OK if builtin is not None else Status.ABSENT),
        _dir(
            "usb-storage-module",
            storage,
            Status.OK if storage is not None else Status.ABSENT,
        ),
    ]
    if conf is not None:
        out.append(_file("etc-modprobe.d-usb.conf", conf))
    return out


def test_usb_storage_states(tmp_path):
    def state(name, *args):
        run = _run(tmp_path / name, *_usb_sources(*args))
        run.probe = "security.usb_storage"
        return HardeningProbe._usb_storage(run), _errors(run)

    blocked, _ = state("a", "install usb-storage /bin/false\n", "", "", ["usb-storage.ko.xz"])
    assert blocked["blocked"] is True and blocked["how"].startswith("/etc/modprobe.d/usb.conf:1")
    loaded, _ = state("b", "blacklist usb-storage\n", "usb_storage 81920 0 - Live\n", "", None)
    assert (loaded["blocked"], loaded["loaded"]) == (False, True)
    open_, _ = state("c", None, "", "kernel/fs/ext4/ext4.ko\n", ["usb-storage.ko.xz", "uas.ko.xz"])
    assert open_ == {"blocked": False, "loaded": False, "how": None}
    builtin, _ = state("d", None, "", "kernel/drivers/usb/storage/usb-storage.ko\n", None)
    assert builtin["blocked"] is False
    absent, _ = state("e", None, "", "kernel/fs/ext4/ext4.ko\n", None)
    assert absent["blocked"] is True and "not installed" in absent["how"]
    unknown, errors = state("f", None, "", None, None)
    assert unknown["blocked"] is None and ("security.usb_storage", "absent") in errors


# -- accounts, permissions, TMOUT -------------------------------------------------------


def test_shadow_status_names_only_accounts_and_states():
    text = (NOSYSTEMD / "bundle" / "shadow-status.txt").read_text()
    states = hardening.parse_shadow_status(text)
    assert len(states) == 31 and {s for _, s in states} == {"locked"}
    assert "$" not in text  # no hash is ever read out
    assert hardening.parse_shadow_status("root:locked\nguest:empty\nan:set\n") == [
        ("root", "locked"),
        ("guest", "empty"),
        ("an", "set"),
    ]


def test_empty_passwords_as_a_user_are_unknown_never_none(tmp_path):
    run = _run(tmp_path / "u", elevated=False)
    assert HardeningProbe._empty_passwords(run) is None
    assert _errors(run) == [("", "denied")]  # the probe names itself in collect()
    denied = _cmd(
        "shadow-status", "", Status.FAILED, 2, "mawk: cannot open /etc/shadow (Permission denied)"
    )
    run = _run(tmp_path / "r", denied)
    assert HardeningProbe._empty_passwords(run) is None and _errors(run) == [("", "denied")]
    run = _run(tmp_path / "e", _cmd("shadow-status", "root:locked\ntest:empty\n"))
    assert HardeningProbe._empty_passwords(run) == ["test"]


def test_recorded_stat_output(parsed):
    sec = parsed("linux-debian12-nosystemd")["security"]
    assert [(k["path"], k["mode"], k["group"], k["other_access"]) for k in sec["key_files"]] == [
        ("/etc/shadow", "0640", "shadow", 0),
        ("/etc/gshadow", "0640", "shadow", 0),
    ]
    homes = {h["path"]: (h["mode"], h["other_access"]) for h in sec["home_directories"]}
    assert homes == {"/home/cloudsdk": ("0755", 5), "/root": ("0700", 0)}


def test_stat_of_a_missing_home_keeps_the_others(tmp_path):
    out = _cmd(
        "stat-home-directories",
        "700 root root /root\n",
        Status.FAILED,
        1,
        "stat: cannot statx '/home/gone': No such file or directory",
    )
    passwd = "root:x:0:0:root:/root:/bin/bash\ngone:x:1001:1001::/home/gone:/bin/bash\n"
    run = _run(tmp_path, _file("etc-passwd", passwd), out)
    homes = HardeningProbe._homes(run)
    assert homes is not None and [h["path"] for h in homes] == ["/root"] and _errors(run) == []


@pytest.mark.parametrize(
    ("files", "want"),
    [
        ([("/etc/profile", "# TMOUT=60\n")], (0, False, None)),
        ([("/etc/profile.d/t.sh", "TMOUT=900\nreadonly TMOUT\nexport TMOUT\n")], (900, True, "/etc/profile.d/t.sh:1")),
        ([("/etc/bash.bashrc", "export TMOUT=600\n")], (600, False, "/etc/bash.bashrc:1")),
        (
            [("/etc/profile", "readonly TMOUT=300\n"), ("/etc/profile.d/z.sh", "TMOUT=0\n")],
            (300, True, "/etc/profile:1"),
        ),
        ([("/etc/profile", "TMOUT=300\n"), ("/etc/profile.d/z.sh", "TMOUT=0\n")], (0, False, "/etc/profile.d/z.sh:1")),
        ([("/etc/profile", "declare -r TMOUT=120\n")], (120, True, "/etc/profile:1")),
    ],
)  # fmt: skip
def test_tmout(files, want):
    assert hardening.tmout_settings(files) == want


def test_tmout_from_the_fixtures(parsed):
    assert parsed("linux-debian12-nosystemd")["security"]["shell_timeout"] == {
        "seconds": 0,
        "readonly": False,
        "where": None,
    }
    assert parsed("linux-debian12-systemd")["security"]["shell_timeout"] == {
        "seconds": 900,
        "readonly": True,
        "where": "/etc/profile.d/tmout.sh:1",
    }


# -- automatic updates ---------------------------------------------------------------


def test_apt_config_dump_of_debians_shipped_files():
    dump = autoupdates.parse_apt_config((SYSTEMD / "bundle" / "apt-config-dump.txt").read_text())
    assert dump["APT::Periodic::Unattended-Upgrade"] == ["1"]
    assert len(dump["Unattended-Upgrade::Origins-Pattern"]) == 4  # the list head "" and three
    assert autoupdates.apt_unattended(dump, installed=True) == {
        "tool": "unattended-upgrades",
        "enabled": True,
        "security": True,
        "source": "apt-config dump",
    }
    # The same configuration with the package removed does nothing.
    assert autoupdates.apt_unattended(dump, installed=False)["enabled"] is False


def test_apt_config_of_the_development_machine_has_no_periodic_run(parsed):
    auto = parsed("linux-debian12-nosystemd")["patches"]["automatic_updates"]
    assert (auto["enabled"], auto["security"]) == (False, False)


@pytest.mark.parametrize(
    ("conf", "timers", "want"),
    [
        ("[commands]\nupgrade_type = security\napply_updates = yes\n", "dnf-automatic.timer enabled enabled\n", (True, True)),
        ("[commands]\napply_updates = no\n", "dnf-automatic.timer enabled enabled\n", (False, True)),
        ("[commands]\napply_updates = no\n", "dnf-automatic-install.timer enabled disabled\n", (True, True)),
        ("[commands]\napply_updates = yes\n", "dnf-automatic.timer disabled enabled\n", (False, True)),
        (None, "", (False, True)),
    ],
)  # fmt: skip
def test_dnf_automatic(conf, timers, want):
    got: dict[str, Any] = autoupdates.dnf_automatic(conf, timers)
    assert (got["enabled"], got["security"]) == want


def test_unreadable_apt_config_is_unknown(tmp_path):
    run = _run(
        tmp_path,
        _cmd("dpkg-unattended-upgrades", "ii "),
        _cmd("apt-config-dump", None, Status.TIMEOUT, None, "apt-config ran longer than 20 s"),
    )
    assert autoupdates.read_automatic_updates(run, rhel=False) is None
    assert _errors(run) == [("patches.automatic_updates", "timeout")]
