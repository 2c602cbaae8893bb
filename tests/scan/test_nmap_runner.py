"""The nmap runner's parsing, on real recorded nmap output (fixtures/, recorded on
the namespace lab of tests/scan/labdata.py), and its environment checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nmap
import pytest

from itaudit.scan.nmap_runner import (
    NmapMissing,
    ProgressParser,
    find_nmap,
    install_hint,
    ipv6_arguments,
    observations_from,
    port_ranges,
    scan_arguments,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _parse_xml(name: str) -> dict:
    # python-nmap's parser needs an instance; its constructor runs `nmap -V`.
    scanner = object.__new__(nmap.PortScanner)
    return scanner.analyse_nmap_xml_scan((FIXTURES / name).read_text(encoding="utf-8"))


def test_port_ranges_are_compressed():
    assert port_ranges((23, 21, 22, 80, 443, 444, 8080)) == "21-23,80,443-444,8080"
    assert port_ranges((22,)) == "22"


def test_arguments_for_root_ordinary_user_and_discovery_only():
    assert scan_arguments((22, 23), 4, True) == ["-sS", "-p", "22-23", "-T4", "-n"]
    assert scan_arguments((22,), 3, False) == ["-sT", "-p", "22", "-T3", "-n", "--unprivileged"]
    assert scan_arguments((), 4, True) == ["-sn", "-T4", "-n"]
    with pytest.raises(ValueError):
        scan_arguments((22,), 6, True)


def test_reverse_dns_only_when_asked_and_then_through_the_system_resolver():
    assert "-n" not in scan_arguments((), 4, True, resolve=True)
    assert scan_arguments((), 4, True, resolve=True)[-1] == "--system-dns"


def test_ipv6_discovery_asks_only_the_named_link():
    args = ipv6_arguments("eth0", 4)
    assert args[:4] == ["-6", "-sn", "-e", "eth0"]
    assert "newtargets,targets-ipv6-multicast-echo.interface=eth0" in args
    assert args[-1] == "-n"
    with pytest.raises(ValueError):
        ipv6_arguments("eth0 -iL /etc/passwd", 4)


def _progress(name: str) -> list:
    parser = ProgressParser(total=256, started=0.0)
    lines = (FIXTURES / name).read_text(encoding="utf-8").splitlines()
    return [p for p in (parser.feed(line, now=1.0) for line in lines) if p is not None]


def test_progress_of_the_discovery_phase():
    found = _progress("nmap-syn.stdout")
    assert found, "no progress line recognised"
    assert {p.phase for p in found} == {"ARP Ping Scan"}
    assert found[-1].percent == 100.0
    assert all(p.total == 256 and p.done == 0 for p in found)


def test_progress_counts_hosts_completed_and_up():
    found = _progress("nmap-syn-allports.stdout")
    last = found[-1]
    assert (last.done, last.up, last.phase) == (2, 6, "SYN Stealth Scan")
    assert last.percent == pytest.approx(87.40)


def test_lines_that_are_not_progress_are_ignored():
    parser = ProgressParser(total=8, started=0.0)
    assert parser.feed("Nmap scan report for 10.0.0.1") is None
    assert parser.feed("22/tcp open ssh") is None


def test_observations_from_a_root_scan_carry_mac_vendor_and_open_ports():
    obs, local = observations_from(_parse_xml("nmap-syn.xml"))
    by_addr = {o.address: o for o in obs}
    assert len(obs) == 13
    assert local == {"10.213.11.1"}
    printer = by_addr["10.213.11.13"]
    assert printer.mac == "30:05:5c:1a:00:13"
    assert printer.vendor == "Brother industries"
    assert [(p.port, p.service) for p in printer.open_ports] == [(23, "telnet"), (80, "http")]
    assert by_addr["10.213.11.1"].mac is None  # the scanning computer itself
    assert [o.address for o in obs][:3] == ["10.213.11.1", "10.213.11.10", "10.213.11.11"]


def test_observations_from_a_connect_scan_have_no_mac():
    obs, _ = observations_from(_parse_xml("nmap-connect.xml"))
    assert len(obs) == 13
    assert all(o.mac is None and o.vendor is None for o in obs)
    rdp = next(o for o in obs if o.address == "10.213.11.15")
    assert [p.port for p in rdp.open_ports] == [3389]


def test_missing_nmap_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NmapMissing) as err:
        find_nmap()
    assert install_hint() in str(err.value)
    assert "install" in install_hint()


@pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed")
def test_nmap_is_found_on_path():
    assert os.path.samefile(find_nmap(), shutil.which("nmap"))


def test_names_vendors_and_services_from_the_network_are_made_safe():
    result = {
        "scan": {
            "10.0.0.5": {
                "status": {"state": "up", "reason": "arp-response"},
                "addresses": {"ipv4": "10.0.0.5", "mac": "B4:2E:99:00:00:05"},
                "vendor": {"B4:2E:99:00:00:05": "Evil\x1b[2J Corp"},
                "hostnames": [
                    {"name": "pc\x1b]0;owned\x07" + "a" * 400, "type": "PTR"},
                    {"name": "", "type": ""},
                ],
                "tcp": {
                    23: {"state": "open", "name": "tel\rnet"},
                    80: {"state": "closed", "name": "http"},
                },
            }
        }
    }
    (o,), _ = observations_from(result)
    assert o.mac == "b4:2e:99:00:00:05"
    assert o.vendor == "Evil[2J Corp"
    assert len(o.hostnames) == 1 and "\x1b" not in o.hostnames[0] and len(o.hostnames[0]) == 253
    assert [(p.port, p.service) for p in o.open_ports] == [(23, "telnet")]
