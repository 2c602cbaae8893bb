"""The organisation register: units, assets and the incident-response team."""

from itaudit.org.load import load_organisation, validate_organisation
from itaudit.org.model import Asset, IncidentTeam, Member, Organisation, Unit

__all__ = [
    "Asset",
    "IncidentTeam",
    "Member",
    "Organisation",
    "Unit",
    "load_organisation",
    "validate_organisation",
]
