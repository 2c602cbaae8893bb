"""Identifier normalisation and machine matching."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from itaudit.identity import Identity, match_method, normalise_mac, normalise_serial, normalise_uuid


def test_placeholder_serials_are_ignored():
    for junk in (
        "To be filled by O.E.M.",
        "Default string",
        "System Serial Number",
        "0",
        "  ",
        "000000000",
        "Not Specified",
        "xxxxxxxxxx",
    ):
        assert normalise_serial(junk) is None, junk
    assert normalise_serial(" 7xk2 9p1 ") == "7XK2 9P1"


def test_placeholder_uuids_are_ignored():
    assert normalise_uuid("03000200-0400-0500-0006-000700080009") is None
    assert normalise_uuid("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF") is None
    assert (
        normalise_uuid("{4C4C4544-0042-3510-8052-B4C04F4E4B32}")
        == "4c4c4544-0042-3510-8052-b4c04f4e4b32"
    )


def test_mac_forms():
    assert normalise_mac("00-1B-21-AA-BB-CC") == "00:1b:21:aa:bb:cc"
    assert normalise_mac("001b21aabbcc") == "00:1b:21:aa:bb:cc"
    assert normalise_mac("ff:ff:ff:ff:ff:ff") is None
    assert normalise_mac("01:00:5e:00:00:01") is None  # multicast
    assert normalise_mac("00:1b:21:aa:bb") is None


@given(st.binary(min_size=6, max_size=6), st.sampled_from([":", "-", ""]), st.booleans())
def test_mac_normalisation_is_idempotent(raw, sep, upper):
    text = sep.join(f"{b:02x}" for b in raw)
    text = text.upper() if upper else text
    once = normalise_mac(text)
    if once is not None:
        assert normalise_mac(once) == once
        assert once == ":".join(f"{b:02x}" for b in raw)


@given(st.text(max_size=40))
def test_serial_normalisation_never_raises_and_is_stable(text):
    once = normalise_serial(text)
    if once is not None:
        assert normalise_serial(once) == once


def test_strongest_identifier_wins_and_a_disagreeing_one_vetoes():
    a = Identity.of("PC1", "4c4c4544-0042-3510-8052-b4c04f4e4b32", "SN1", ["00:1b:21:00:00:01"])
    renamed = Identity.of("PC9", "4c4c4544-0042-3510-8052-b4c04f4e4b32", None, [])
    other_board = Identity.of(
        "PC1", "4c4c4544-0042-3510-8052-b4c04f4e4b33", "SN1", ["00:1b:21:00:00:01"]
    )
    assert match_method(a, renamed) == "hardware_uuid"
    assert match_method(a, other_board) is None
    assert (
        match_method(Identity.of("PC1", serial="SN1"), Identity.of("PC2", serial="SN1")) == "serial"
    )
    assert match_method(Identity.of("PC1", serial="SN1"), Identity.of("PC1", serial="SN2")) is None
    assert match_method(Identity.of("pc1.local"), Identity.of("PC1")) == "hostname"


@given(st.text(max_size=20), st.text(max_size=20))
def test_matching_is_symmetric(s1, s2):
    a, b = Identity.of("H", None, s1, []), Identity.of("H", None, s2, [])
    assert match_method(a, b) == match_method(b, a)


def test_default_host_names_never_identify_a_machine():
    for name in ("localhost", "localhost.localdomain", "ubuntu", "RaspberryPi"):
        assert Identity.of(name).hostname is None, name
    assert match_method(Identity.of("ubuntu"), Identity.of("ubuntu")) is None
    assert Identity.of("KT-PC01.sldtbxh.local").hostname == "kt-pc01"


def test_disjoint_macs_veto_a_shared_name():
    """Units name machines after the job (KETOAN): the name alone must not merge two."""
    a = Identity.of("KETOAN", serial="To be filled by O.E.M.", macs=["00:1b:21:00:00:01"])
    b = Identity.of("KETOAN", serial="Default string", macs=["00:1b:21:00:00:02"])
    assert match_method(a, b) is None
    dock = Identity.of("KETOAN", macs=["00:1b:21:00:00:01", "00:1b:21:00:00:09"])
    assert match_method(a, dock) == "mac"
    assert match_method(a, Identity.of("KETOAN")) == "hostname"  # no MAC known on one side
