"""The security policy as `secedit /export /areas SECURITYPOLICY` writes it.

The collector records the export (an INF file, UTF-16 on disk, kept as UTF-8
text in the bundle) as source `secedit-securitypolicy`. Its layout, as public
exports show it (see tests/agent/fixtures/*/README.md for the samples):

    [Unicode]
    Unicode=yes
    [System Access]
    MinimumPasswordAge = 0
    MaximumPasswordAge = 42
    MinimumPasswordLength = 0
    PasswordComplexity = 1
    PasswordHistorySize = 0
    LockoutBadCount = 0
    ...
    [Event Audit]
    ...
    [Registry Values]
    ...
    [Version]
    signature="$CHICAGO$"
    Revision=1

Section and key names are fixed identifiers, the same in every display
language, so reading them is not reading localised text. Password complexity
is read only from here: NetUserModalsGet does not expose it.
"""

from __future__ import annotations

from typing import Any

SOURCE = "secedit-securitypolicy"
ARGV = ("secedit", "/export", "/areas", "SECURITYPOLICY")
SYSTEM_ACCESS = "system access"
# In the export, -1 stands for "never" (MaximumPasswordAge) or "until an
# administrator unlocks" (LockoutDuration).
NEVER = -1
MAX_DAYS = 100000


def parse_inf(text: str) -> dict[str, dict[str, str]]:
    """{section (lower case): {key (lower case): raw value}} of an INF text.

    Lines outside a section, comments (`;`) and lines without `=` are skipped;
    a value keeps its text with surrounding blanks and quotes removed.
    """
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.lstrip("\ufeff").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().lower(), {})
            continue
        if current is None or "=" not in line:
            continue
        key, _, value = line.partition("=")
        current[key.strip().lower()] = value.strip().strip('"')
    return sections


def system_access(text: Any) -> dict[str, int] | None:
    """The integer keys of `[System Access]`, or None when the text has no such section."""
    if not isinstance(text, str):
        return None
    section = parse_inf(text).get(SYSTEM_ACCESS)
    if section is None:
        return None
    out: dict[str, int] = {}
    for key, value in section.items():
        try:
            out[key] = int(value)
        except ValueError:
            continue  # names such as NewAdministratorName: not needed here
    return out


def complexity(access: dict[str, int]) -> bool | None:
    """PasswordComplexity: 1 on, 0 off; anything else (or missing) is unknown."""
    value = access.get("passwordcomplexity")
    return {0: False, 1: True}.get(value) if value is not None else None


def policy(access: dict[str, int]) -> dict[str, Any]:
    """The password_policy facts the export holds (used when NetUserModalsGet failed)."""

    def days(key: str) -> int | None:
        value = access.get(key)
        if value is None or value < NEVER:
            return None
        return 0 if value == NEVER else min(value, MAX_DAYS)  # 0: never expires

    def bounded(key: str, top: int) -> int | None:
        value = access.get(key)
        return value if value is not None and 0 <= value <= top else None

    duration = access.get("lockoutduration")
    return {
        "min_length": bounded("minimumpasswordlength", 1024),
        "max_age_days": days("maximumpasswordage"),
        "min_age_days": days("minimumpasswordage"),
        "history": bounded("passwordhistorysize", 1024),
        "complexity": complexity(access),
        "lockout_threshold": bounded("lockoutbadcount", 100000),
        # Only present while a lockout threshold is set.
        "lockout_duration_minutes": MAX_DAYS
        if duration == NEVER
        else bounded("lockoutduration", MAX_DAYS),
    }
