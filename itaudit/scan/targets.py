"""Scan targets: parsing, normalising and bounding what nmap may be pointed at.

A target is an IPv4 address (`10.38.16.25`), a range (`10.38.16.1-40` or
`10.38.16.1-10.38.16.40`) or a CIDR network (`10.38.16.0/24`). Everything is
checked here, before nmap starts: nmap only ever receives the networks this
module produced, never the officer's text, so a typo cannot widen a scan and a
string starting with `-` cannot become an nmap option.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from itaudit.errors import UsageError

# "Larger than a /16" and the total of all targets are refused without --yes-large.
LARGE_ADDRESSES = 65_536
# Even with --yes-large: a scan of more than a /8 is certainly a mistake.
MAX_ADDRESSES = 16_777_216
MAX_TARGET_TEXT = 100
_KEY_MAX = 512
_LAST_OCTET_RANGE = re.compile(r"^(\d{1,3}\.\d{1,3}\.\d{1,3}\.)(\d{1,3})-(\d{1,3})$")


class TargetError(UsageError):
    """A target that cannot be scanned as given (exit 2, nmap never starts)."""


@dataclass(frozen=True)
class Target:
    """One target as the officer wrote it, and the networks it covers."""

    text: str
    networks: tuple[ipaddress.IPv4Network, ...]

    @property
    def addresses(self) -> int:
        return sum(n.num_addresses for n in self.networks)


@dataclass(frozen=True)
class TargetSet:
    """All targets of one scan, merged: what nmap is given."""

    targets: tuple[Target, ...]
    networks: tuple[ipaddress.IPv4Network, ...]  # collapsed, sorted, no overlap

    @property
    def addresses(self) -> int:
        return sum(n.num_addresses for n in self.networks)

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.targets)

    @property
    def key(self) -> str:
        """The normalised targets: the same addresses give the same key, however written."""
        text = ",".join(str(n) for n in self.networks)
        if len(text) <= _KEY_MAX:
            return text
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def nmap_targets(self) -> list[str]:
        return [str(n) for n in self.networks]

    def contains(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in n for n in self.networks)

    def covers(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
        """True when every address of `network` is among the targets."""
        if network.version != 4:
            return False
        return any(network.subnet_of(n) for n in self.networks)


def _ipv4(text: str, original: str) -> ipaddress.IPv4Address:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise TargetError(
            f"target {original!r}: {text!r} is not an IPv4 address "
            "(write an address 10.38.16.25, a range 10.38.16.1-40 or a network 10.38.16.0/24)"
        ) from None
    if ip.version != 4:
        raise TargetError(f"target {original!r}: only IPv4 targets are supported")
    return ip  # type: ignore[return-value]


def parse_target(text: str) -> Target:
    """One target; TargetError with the reason when it is malformed."""
    raw = text.strip()
    if not raw:
        raise TargetError("an empty target was given: name an address, a range or a network")
    if len(raw) > MAX_TARGET_TEXT:
        raise TargetError(f"target {raw[:40]!r}...: too long to be an address, range or network")
    if "," in raw:
        raise TargetError(
            f"target {raw!r}: separate several targets with spaces, not commas "
            "(10.38.16.0/24 10.38.17.0/24)"
        )
    if re.match(r"^-+[A-Za-z]", raw):
        raise TargetError(
            f"target {raw!r} looks like an nmap option: itaudit chooses nmap's options "
            "itself (see --ports and --timing); give addresses, ranges or networks"
        )
    if raw.startswith(("/", "-")) or raw.endswith(("/", "-")):
        raise TargetError(
            f"target {raw!r} is incomplete: write a range or network without spaces "
            "(10.38.16.1-40, 10.38.16.0/24)"
        )
    if "/" in raw:
        try:
            net = ipaddress.ip_network(raw, strict=False)
        except ValueError as exc:
            raise TargetError(
                f"target {raw!r} is not a valid network in CIDR form (e.g. 10.38.16.0/24): {exc}"
            ) from None
        if net.version != 4:
            raise TargetError(f"target {raw!r}: only IPv4 targets are supported")
        return Target(raw, (net,))  # type: ignore[arg-type]
    if "-" in raw:
        short = _LAST_OCTET_RANGE.match(raw)
        if short:
            first = _ipv4(short.group(1) + short.group(2), raw)
            last_octet = int(short.group(3))
            if last_octet > 255:
                raise TargetError(f"target {raw!r}: {last_octet} is not an address octet (0-255)")
            last = _ipv4(short.group(1) + str(last_octet), raw)
        else:
            start, sep, end = raw.partition("-")
            if not sep or "-" in end:
                raise TargetError(f"target {raw!r} is not a range (e.g. 10.38.16.1-40)")
            first, last = _ipv4(start.strip(), raw), _ipv4(end.strip(), raw)
        if last < first:
            raise TargetError(f"target {raw!r}: the range ends before it starts (empty range)")
        return Target(raw, tuple(ipaddress.summarize_address_range(first, last)))
    ip = _ipv4(raw, raw)
    return Target(raw, (ipaddress.ip_network(ip),))  # type: ignore[arg-type]


def parse_targets(texts: Iterable[str], *, yes_large: bool = False) -> TargetSet:
    """Every target, merged and bounded; TargetError before anything is scanned."""
    targets = tuple(parse_target(t) for t in texts)
    if not targets:
        raise TargetError(
            "no targets: give addresses, ranges or networks, or --unit to scan a unit's subnets"
        )
    merged = TargetSet(
        targets, tuple(ipaddress.collapse_addresses(n for t in targets for n in t.networks))
    )
    total = merged.addresses
    if total > MAX_ADDRESSES:
        raise TargetError(
            f"the targets cover {total:,} addresses; at most {MAX_ADDRESSES:,} (a /8) can be "
            "scanned at once: split the scan"
        )
    if not yes_large:
        for t in targets:
            if t.addresses > LARGE_ADDRESSES:
                raise TargetError(
                    f"target {t.text!r} covers {t.addresses:,} addresses, more than a /16 "
                    f"({LARGE_ADDRESSES:,}); check it, then add --yes-large if you really mean it"
                )
        if total > LARGE_ADDRESSES:
            raise TargetError(
                f"the targets cover {total:,} addresses together, more than {LARGE_ADDRESSES:,}; "
                "check them, then add --yes-large if you really mean it"
            )
    return merged
