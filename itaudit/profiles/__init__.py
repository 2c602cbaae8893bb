"""Profiles: the level-1 base, per-unit tailoring, waivers, catalogues and framework mappings.

`load_profiles(workspace.profiles, workspace.inventory)` gives a `ProfileSet`;
`ProfileSet.profile(name)` the effective rule set of a profile after
inheritance. The format is documented in docs/profiles.md.
"""

from itaudit.profiles.load import (
    ProfileSet,
    load_profiles,
    unit_profile_problems,
    validate_profiles,
)
from itaudit.profiles.model import (
    Catalog,
    EffectiveProfile,
    EffectiveRule,
    Framework,
    Requirement,
    Rule,
    Text,
    Waiver,
)

__all__ = [
    "Catalog",
    "EffectiveProfile",
    "EffectiveRule",
    "Framework",
    "ProfileSet",
    "Requirement",
    "Rule",
    "Text",
    "Waiver",
    "load_profiles",
    "unit_profile_problems",
    "validate_profiles",
]
