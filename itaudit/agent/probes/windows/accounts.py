"""Windows local accounts: enabled state, whether a password is required, last
logon (Get-LocalUser), with Win32_UserAccount as the fallback (no dates there).

Accounts are known by SID; built-in ones by their RID (500 Administrator, 501
Guest, 503 DefaultAccount, 504 WDAGUtilityAccount), never by their (localised)
name. Used by the security probe (security.py).
"""

from __future__ import annotations

from typing import Any

from itaudit.agent.probes.base import ProbeRun, as_list, iso, ps_datetime, text, to_bool

BUILTIN_RIDS = {"500", "501", "503", "504"}


def _builtin(sid: str | None) -> bool:
    return bool(sid and sid.startswith("S-1-5-21-") and sid.rsplit("-", 1)[-1] in BUILTIN_RIDS)


def local_accounts(run: ProbeRun) -> list[dict[str, Any]] | None:
    """Every local account, or None when neither source could be read (see errors)."""
    users = run.ctx.powershell("local-users", "Get-LocalUser")
    if users.ok:
        out = []
        for u in as_list(users.value):
            if not isinstance(u, dict) or not text(u.get("Name")):
                continue
            sid = text(u.get("SID"), 256)
            out.append(
                {
                    "name": text(u.get("Name")),
                    "sid": sid,
                    "enabled": to_bool(u.get("Enabled")),
                    "password_required": to_bool(u.get("PasswordRequired")),
                    "last_logon": iso(ps_datetime(u.get("LastLogon"))),
                    "password_last_set": iso(ps_datetime(u.get("PasswordLastSet"))),
                    "builtin": _builtin(sid),
                }
            )
        return out[:256]
    cim = run.ctx.cim_query("cim-useraccounts", "root/cimv2", "Win32_UserAccount")
    run.failed(users, what="Get-LocalUser")
    if not cim.ok:
        return None
    out = []
    for u in as_list(cim.value):
        if not isinstance(u, dict) or not text(u.get("Name")):
            continue
        sid = text(u.get("SID"), 256)
        disabled = to_bool(u.get("Disabled"))
        out.append(
            {
                "name": text(u.get("Name")),
                "sid": sid,
                "enabled": (not disabled) if disabled is not None else None,
                "password_required": to_bool(u.get("PasswordRequired")),
                "last_logon": None,  # Win32_UserAccount has no logon date
                "password_last_set": None,
                "builtin": _builtin(sid),
            }
        )
    return out[:256]
