"""SecurityCenter2 productState decoding (LEVEL1.md values and a property test)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itaudit.agent.probes.windows.productstate import decode


def test_397568_is_microsoft_on_and_current():
    s = decode(397568)
    assert (s.state, s.enabled, s.up_to_date, s.microsoft) == ("on", True, True, True)


def test_266256_is_third_party_on_but_out_of_date():
    s = decode(266256)
    assert (s.state, s.enabled, s.up_to_date, s.microsoft) == ("on", True, False, False)


def test_262144_is_off():
    s = decode(262144)
    assert (s.state, s.enabled, s.mode) == ("off", False, "disabled")


def test_266240_is_third_party_on_and_current():
    s = decode(266240)
    assert (s.enabled, s.up_to_date, s.microsoft, s.mode) == (True, True, False, "active")


def test_393472_is_defender_off_under_another_antivirus():
    s = decode(393472)
    assert (s.state, s.microsoft) == ("off", True)


def test_snoozed_and_expired_states():
    assert decode(0x042000).state == "snoozed"
    assert decode(0x043000).state == "expired"
    assert decode(0x043000).mode == "unknown"


@pytest.mark.parametrize("bad", [-1, 2**32, True, "397568"])
def test_rejects_values_that_are_not_a_uint32(bad):
    with pytest.raises(ValueError):
        decode(bad)


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_decode_reads_exactly_its_nibbles(value):
    s = decode(value)
    assert s.raw == value
    assert s.enabled == ((value >> 12) & 0xF == 1)
    assert s.up_to_date == ((value >> 4) & 0xF != 1)
    assert s.microsoft == ((value >> 8) & 0xF == 1)
    assert s.providers == (value >> 16) & 0xFF
    # The low nibble and bits above 24 never change the verdict.
    twin = decode((value & 0x00FFFFF0) | 0x5 | (0x7 << 24))
    assert (twin.state, twin.up_to_date, twin.microsoft) == (s.state, s.up_to_date, s.microsoft)
