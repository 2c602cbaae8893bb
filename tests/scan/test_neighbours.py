"""Reading the neighbour and route tables, on recorded output (the runner injected)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from itaudit.scan.neighbours import (
    add_neighbour_macs,
    facing_interfaces,
    neighbour_table,
    parse_arp_a,
    parse_ip_neigh,
    parse_route_get,
)
from itaudit.scan.records import Observation

FIXTURES = Path(__file__).parent / "fixtures" / "neighbours"


def _text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_ip_neigh_keeps_entries_with_a_usable_mac():
    table = parse_ip_neigh(_text("ip-neigh-debian12.json"))
    assert table == {
        "10.213.242.61": "da:a1:19:00:00:61",
        "10.213.242.10": "00:14:22:1a:00:10",
        "10.213.242.12": "b4:2e:99:1a:00:12",  # stale still names the device that answered
        "fe80::214:22ff:fe1a:60": "00:14:22:1a:00:60",
    }  # incomplete and failed entries have no MAC


def test_windows_arp_a_without_broadcast_and_multicast():
    assert parse_arp_a(_text("arp-a-windows.txt")) == {
        "10.38.16.1": "00:1a:2b:3c:4d:5e",
        "10.38.16.11": "00:14:22:1a:00:11",
    }


def test_unreadable_tables_give_nothing():
    assert parse_ip_neigh("not json") == {}
    assert neighbour_table(lambda argv: None, "linux") == {}


def test_the_linux_table_is_read_with_ip_and_windows_with_arp():
    asked: list[list[str]] = []

    def run(argv: list[str]) -> str | None:
        asked.append(argv)
        return _text("ip-neigh-debian12.json") if argv[0] == "ip" else _text("arp-a-windows.txt")

    assert "10.213.242.10" in neighbour_table(run, "linux")
    assert "10.38.16.11" in neighbour_table(run, "win32")
    assert asked == [["ip", "-j", "neigh", "show"], ["arp", "-a"]]


def test_observations_without_a_mac_get_the_tables():
    table = parse_ip_neigh(_text("ip-neigh-debian12.json"))
    seen = [
        Observation("10.213.242.10"),
        Observation("10.213.242.13"),  # failed entry: stays without MAC
        Observation("10.213.242.61", mac="da:a1:19:00:00:61", mac_source="nmap"),
    ]
    out, found = add_neighbour_macs(
        seen, table, lambda mac: "Dell" if mac.startswith("00:14:22") else None
    )
    assert found == 1
    assert (out[0].mac, out[0].vendor, out[0].mac_source) == (
        "00:14:22:1a:00:10",
        "Dell",
        "neighbour",
    )
    assert out[1].mac is None
    assert out[2].mac_source == "nmap"


def test_the_interface_facing_a_network_is_the_on_link_route():
    assert parse_route_get(_text("ip-route-get.json")) == "iaba52774"
    assert parse_route_get(_text("ip-route-get-via-gateway.json")) is None  # routed: not our link
    assert parse_route_get(_text("ip-route-get-local.json")) is None

    def run(argv: list[str]) -> str | None:
        # The first address is this machine's own (a local route); the last is on the link.
        return _text("ip-route-get-local.json" if argv[-1].endswith(".1") else "ip-route-get.json")

    assert facing_interfaces([ipaddress.ip_network("10.213.242.0/24")], run) == ["iaba52774"]
