"""Matching a reporting machine to its asset-register entry.

Strongest identifier first: hardware UUID, then serial, then MAC, then host
name; placeholders never match (see `itaudit.identity`). The method is
recorded so a report can say how sure the match is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from itaudit.identity import MATCH_METHODS, Identity, match_method
from itaudit.org.model import Asset, Organisation


@dataclass(frozen=True)
class AssetMatch:
    asset: Asset
    method: str  # one of MATCH_METHODS


class RegisterIndex:
    """Indexes the register's computers by each identifier, built once per run."""

    def __init__(self, org: Organisation | None):
        self.org = org
        self._by: dict[str, dict[str, list[Asset]]] = {m: {} for m in MATCH_METHODS}
        for asset in org.assets if org else ():
            ident = asset.identity
            for method, value in (
                ("hardware_uuid", ident.hardware_uuid),
                ("serial", ident.serial),
                ("hostname", ident.hostname),
            ):
                if value:
                    self._by[method].setdefault(value, []).append(asset)
            for mac in ident.macs:
                self._by["mac"].setdefault(mac, []).append(asset)

    def match(self, ident: Identity) -> AssetMatch | None:
        candidates: dict[str, Asset] = {}
        keys: dict[str, Sequence[str | None]] = {
            "hardware_uuid": [ident.hardware_uuid],
            "serial": [ident.serial],
            "mac": sorted(ident.macs),
            "hostname": [ident.hostname],
        }
        for method, values in keys.items():
            for value in values:
                for asset in self._by[method].get(value or "", ()):
                    candidates[asset.tag] = asset
        best: AssetMatch | None = None
        for asset in candidates.values():
            how = match_method(ident, asset.identity)
            if how is None:
                continue
            if best is None or MATCH_METHODS.index(how) < MATCH_METHODS.index(best.method):
                best = AssetMatch(asset, how)
        return best

    def unit_for(self, addresses: list[str]) -> str | None:
        if self.org is None:
            return None
        for address in addresses:
            unit = self.org.unit_for_address(address)
            if unit is not None:
                return unit.id
        return None

    def has_unit(self, unit_id: str | None) -> bool:
        return bool(self.org and unit_id and self.org.unit(unit_id))
