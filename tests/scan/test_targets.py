"""Scan targets: the forms accepted, the errors, the size limits."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itaudit.scan.targets import (
    LARGE_ADDRESSES,
    TargetError,
    parse_target,
    parse_targets,
)


def test_an_address_is_one_host():
    t = parse_target("10.38.16.25")
    assert t.networks == (ipaddress.ip_network("10.38.16.25/32"),)
    assert t.addresses == 1


def test_a_cidr_with_host_bits_means_its_network():
    assert parse_target("10.38.16.7/24").networks == (ipaddress.ip_network("10.38.16.0/24"),)


def test_a_short_range_covers_the_last_octet_range():
    t = parse_target("10.38.16.1-20")
    assert t.addresses == 20
    assert ipaddress.ip_address("10.38.16.20") in t.networks[-1]
    assert ipaddress.ip_address("10.38.16.21") not in t.networks[-1]


def test_a_full_range_may_cross_octets():
    t = parse_target("10.38.16.250-10.38.17.5")
    assert t.addresses == 12


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("10.38.16.0/33", "not a valid network"),
        ("10.38.16/24", "not a valid network"),
        ("10.38.16.300", "not an IPv4 address"),
        ("10.38.16.20-5", "ends before it starts"),
        ("10.38.16.1-300", "not an address octet"),
        ("10.38.16.1-10.38.16.2-3", "not a range"),
        ("printer.local", "not an IPv4 address"),
        ("-sV", "looks like an nmap option"),
        ("fd00::/64", "only IPv4"),
        ("   ", "empty target"),
        ("10.38.16.0/24,10.38.17.0/24", "separate several targets with spaces, not commas"),
        ("-", "incomplete: write a range or network without spaces"),
        ("/24", "incomplete"),
        ("10.38.16.1-", "incomplete"),
        ("-20", "incomplete"),
    ],
)
def test_malformed_targets_are_refused_with_the_reason(text, words):
    with pytest.raises(TargetError) as err:
        parse_target(text)
    assert words in str(err.value)


def test_no_targets_is_an_error():
    with pytest.raises(TargetError, match="no targets"):
        parse_targets([])


def test_a_slash_16_is_allowed_but_a_slash_15_needs_yes_large():
    assert parse_targets(["10.0.0.0/16"]).addresses == LARGE_ADDRESSES
    with pytest.raises(TargetError, match="more than a /16"):
        parse_targets(["10.0.0.0/15"])
    assert parse_targets(["10.0.0.0/15"], yes_large=True).addresses == 2 * LARGE_ADDRESSES


def test_targets_adding_up_to_more_than_a_slash_16_need_yes_large():
    with pytest.raises(TargetError, match="together"):
        parse_targets(["10.1.0.0/16", "10.2.0.0/24"])
    assert parse_targets(["10.1.0.0/16", "10.2.0.0/24"], yes_large=True).addresses == 65_792


def test_more_than_a_slash_8_is_refused_even_with_yes_large():
    with pytest.raises(TargetError, match="split the scan"):
        parse_targets(["10.0.0.0/7"], yes_large=True)


def test_overlapping_targets_are_merged_and_counted_once():
    ts = parse_targets(["10.38.16.0/24", "10.38.16.10", "10.38.16.100-120"])
    assert ts.nmap_targets() == ["10.38.16.0/24"]
    assert ts.addresses == 256


def test_the_key_is_the_same_however_the_targets_are_written():
    a = parse_targets(["10.38.16.0-10.38.16.255"])
    b = parse_targets(["10.38.16.128/25", "10.38.16.0/25"])
    assert a.key == b.key == "10.38.16.0/24"
    assert a.texts != b.texts


def test_contains_and_covers():
    ts = parse_targets(["10.38.16.0/24"])
    assert ts.contains("10.38.16.9") and not ts.contains("10.38.17.9")
    assert ts.covers(ipaddress.ip_network("10.38.16.0/25"))
    assert not ts.covers(ipaddress.ip_network("10.38.16.0/23"))


@given(st.integers(0, 2**32 - 1), st.integers(0, 300))
def test_a_range_covers_exactly_its_addresses(start, length):
    first = ipaddress.IPv4Address(start)
    last = ipaddress.IPv4Address(min(start + length, 2**32 - 1))
    t = parse_target(f"{first}-{last}")
    assert t.addresses == int(last) - int(first) + 1
    assert ipaddress.ip_network(t.networks[0]).network_address == first
    assert t.networks[-1].broadcast_address == last
