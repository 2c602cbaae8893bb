"""The unit's LAN by coverage: what a later scan may override, and what it may not."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from itaudit.scan.coverage import Coverage, carry, coverage_networks
from itaudit.scan.records import Observation, Port

T0 = datetime(2026, 12, 1, 9, 0)
NOW = T0 + timedelta(hours=1)
LAN = (ipaddress.ip_network("10.38.16.0/24"),)
SECRET = Observation(
    "10.38.16.11",
    mac="00:14:22:1a:00:11",
    open_ports=(Port(445),),
    bucket="forbidden",
    method="raw",
    seen_at=T0,
    seen_scan_id=1,
)


def _spot(address: str, method: str = "raw") -> Coverage:
    return Coverage((ipaddress.ip_network(address),), method, ports=frozenset({80}))


def test_a_spot_scan_of_another_address_carries_the_secret_machine():
    merged = carry([SECRET], [Observation("10.38.16.60", method="raw")], _spot("10.38.16.60"), NOW)
    carried = [o for o in merged.observations if o.carried]
    assert carried == [SECRET]  # with when and by which scan it was seen


def test_a_covering_scan_of_equal_method_that_does_not_see_it_shows_it_absent():
    merged = carry([SECRET], [], Coverage(LAN, "raw"), NOW)
    assert merged.observations == () and merged.absent == (SECRET,)


def test_a_weaker_scan_cannot_show_it_absent():
    merged = carry([SECRET], [], Coverage(LAN, "connect"), NOW)
    assert merged.observations == (SECRET,) and merged.absent == ()


def test_a_weaker_scan_that_sees_the_address_without_a_mac_keeps_the_identification():
    seen = Observation("10.38.16.11", method="connect", open_ports=())
    merged = carry([SECRET], [seen], Coverage(LAN, "connect", ports=frozenset({80})), NOW)
    (o,) = merged.observations
    assert (o.mac, o.mac_source, o.carried) == ("00:14:22:1a:00:11", "earlier", False)
    assert [p.port for p in o.open_ports] == [445]  # 445 was not checked this time
    assert merged.kept_identity == ((SECRET, o),)


def test_a_port_the_new_scan_checked_and_found_closed_is_closed():
    seen = Observation("10.38.16.11", mac="00:14:22:1a:00:11", method="raw")
    merged = carry([SECRET], [seen], Coverage(LAN, "raw", ports=frozenset({445})), NOW)
    assert merged.observations[0].open_ports == ()


def test_another_mac_at_the_address_is_another_device():
    other = Observation("10.38.16.11", mac="b4:2e:99:00:00:01", method="raw")
    merged = carry([SECRET], [other], Coverage(LAN, "raw"), NOW)
    assert merged.observations == (other,) and merged.absent == (SECRET,)


def test_ipv6_sightings_are_covered_only_by_ipv6_discovery():
    v6 = Observation(
        "fe80::214:22ff:fe1a:60", mac="00:14:22:1a:00:60", method="nd", seen_at=T0, seen_scan_id=1
    )
    assert carry([v6], [], Coverage(LAN, "raw"), NOW).observations == (v6,)
    assert carry([v6], [], Coverage(LAN, "raw", ipv6=True), NOW).absent == (v6,)


def test_a_device_seen_before_the_window_is_dropped():
    old = Observation(
        "10.38.17.5",
        mac="00:14:22:00:00:05",
        method="raw",
        seen_at=T0 - timedelta(days=8),
        seen_scan_id=1,
    )
    assert carry([old], [], _spot("10.38.16.60"), NOW, window_days=7).expired == (old,)
    assert carry([old], [], _spot("10.38.16.60"), NOW, window_days=9).observations == (old,)


def test_coverage_keeps_the_networks_scanned_within_the_window():
    before = [("10.38.16.0/24", T0), ("10.38.17.0/24", T0 - timedelta(days=30))]
    assert coverage_networks(before, [ipaddress.ip_network("10.38.16.60/32")], NOW) == [
        ("10.38.16.0/24", T0),
        ("10.38.16.60/32", NOW),
    ]
