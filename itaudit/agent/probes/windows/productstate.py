"""Decoding SecurityCenter2's AntiVirusProduct.productState.

Microsoft does not document the value; the community decode (LEVEL1.md):
  state & 0xF000   0x1000 on, 0x0000 off, 0x2000 snoozed, 0x3000 expired
  state & 0x00F0   0x10 = signatures out of date (0x00 = up to date)
  state & 0x0F00   0x100 = the product is Microsoft's
  state >> 16      the security-provider flags (4 = antivirus, 2 = auto-update...)
Examples: 397568 (0x061100) Defender on and current; 266256 (0x041010) a
third-party product on but out of date; 262144 (0x040000) off.
"""

from __future__ import annotations

from dataclasses import dataclass

STATES = {0x0000: "off", 0x1000: "on", 0x2000: "snoozed", 0x3000: "expired"}


@dataclass(frozen=True)
class ProductState:
    raw: int
    state: str  # on, off, snoozed, expired, unknown
    signatures_out_of_date: bool
    microsoft: bool
    providers: int

    @property
    def enabled(self) -> bool:
        return self.state == "on"

    @property
    def up_to_date(self) -> bool:
        return not self.signatures_out_of_date

    @property
    def mode(self) -> str:
        """The report's `mode`: active when on, disabled when off or snoozed."""
        if self.state == "on":
            return "active"
        if self.state in ("off", "snoozed"):
            return "disabled"
        return "unknown"


def decode(value: int) -> ProductState:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"productState must be an unsigned 32-bit integer, got {value!r}")
    return ProductState(
        raw=value,
        state=STATES.get(value & 0xF000, "unknown"),
        signatures_out_of_date=(value & 0x00F0) == 0x10,
        microsoft=(value & 0x0F00) == 0x100,
        providers=(value >> 16) & 0xFF,
    )
