"""Equipment counts per unit, as declared in the asset register.

The one place these numbers are computed: `itaudit org show`, the reports and
the ratios all call `unit_counts`, so a figure never differs between outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

from itaudit.org.model import COMPUTER_TYPES, Organisation, Unit


@dataclass(frozen=True)
class UnitCounts:
    """What one unit declares. Websites are not devices and are counted apart."""

    unit: Unit
    desktops: int  # type `workstation`
    laptops: int
    servers_onsite: int
    servers_offsite: int  # hosted elsewhere, e.g. at the provincial Cybersecurity Centre
    other_devices: int  # printers, scanners, projectors, tablets, network gear...
    websites: int
    secret: int  # state-secret machines

    @property
    def workstations(self) -> int:
        """The reports' "máy trạm": desktops and laptops together."""
        return self.desktops + self.laptops

    @property
    def machines_per_staff(self) -> float | None:
        """Workstations per member of staff, in percent with one decimal (None: no staff)."""
        if self.unit.staff == 0:
            return None
        return round(100 * self.workstations / self.unit.staff, 1)


def unit_counts(org: Organisation) -> list[UnitCounts]:
    """One entry per unit, in the order of organization.yaml."""
    result = []
    for unit in org.units:
        assets = org.assets_of(unit.id)
        servers = [a for a in assets if a.type == "server"]
        result.append(
            UnitCounts(
                unit=unit,
                desktops=sum(a.type == "workstation" for a in assets),
                laptops=sum(a.type == "laptop" for a in assets),
                servers_onsite=sum(not a.hosted_offsite for a in servers),
                servers_offsite=sum(a.hosted_offsite for a in servers),
                other_devices=sum(
                    a.type not in COMPUTER_TYPES and a.type != "website" for a in assets
                ),
                websites=sum(a.type == "website" for a in assets),
                secret=sum(a.secret for a in assets),
            )
        )
    return result
