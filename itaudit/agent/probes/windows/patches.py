"""Windows patches: Windows Update history, hotfix list, pending reboot.

The Windows Update Agent history (ResultCode 2 = succeeded, Operation 1 =
installation) lists installed updates; Win32_QuickFixEngineering misses
updates and often lacks dates, so it only adds KB numbers the history does
not have. KB numbers are read from titles by pattern (KB1234567), the one
part of a title that does not depend on the display language; nothing is
decided from the words of a title.

`last_install_at` is evidence only: the patch level is judged on the checker's
side from the OS revision (build.UBR) and the release table. It is the last
successful install of an update with a KB number other than those that never
say anything about OS patching: drivers (no KB number), the malicious software
removal tool and Defender definition updates. .NET and Office updates cannot
be told from OS updates without the update's classification, which the
collector does not record, so they may still move it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from itaudit.agent.context import Status
from itaudit.agent.probes.base import Probe, ProbeRun, as_list, iso, ps_datetime, text, to_int

WU_SUCCEEDED = 2
WU_INSTALL = 1
# Antivirus definition updates arrive daily and the malicious software removal
# tool monthly; neither says anything about OS patching: they are listed as
# installed but never count as the last install.
DEFINITION_KBS = {"KB2267602", "KB2461484", "KB915597"}
MSRT_KB = "KB890830"
NOT_PATCHES = DEFINITION_KBS | {MSRT_KB}
_KB = re.compile(r"\bKB(\d{6,8})\b", re.IGNORECASE)
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_FILETIME_HEX = re.compile(r"^[0-9A-Fa-f]{15,16}$")
REBOOT_KEYS = {
    "reg-wu-rebootrequired": r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
    "reg-cbs-rebootpending": r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
}


def qfe_date(value: Any) -> datetime | None:
    """Win32_QuickFixEngineering.InstalledOn as the WMI provider writes it.

    The provider writes M/D/YYYY whatever the display language (Get-HotFix's
    culture-dependent conversion is avoided by reading CIM directly); some
    entries carry a FILETIME in hex instead.
    """
    s = text(value, 32)
    if not s:
        return None
    m = _US_DATE.match(s)
    try:
        if m:
            return datetime(int(m.group(3)), int(m.group(1)), int(m.group(2)), tzinfo=UTC)
        if _FILETIME_HEX.match(s):
            return datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(s, 16) // 10)
    except (ValueError, OverflowError):
        return None
    return None


class PatchesProbe(Probe):
    name = "patches"

    def collect(self, run: ProbeRun) -> None:
        ctx, pat = run.ctx, run.section("patches")
        installed: dict[str, dict[str, Any]] = {}
        last: datetime | None = None

        history = ctx.powershell("wu-history", "Microsoft.Update.Session QueryHistory")
        if history.ok:
            for entry in as_list(history.value):
                if not isinstance(entry, dict):
                    continue
                if (
                    to_int(entry.get("ResultCode")) != WU_SUCCEEDED
                    or to_int(entry.get("Operation")) != WU_INSTALL
                ):
                    continue
                when = ps_datetime(entry.get("Date"))
                title = text(entry.get("Title"), 512)
                m = _KB.search(title or "")
                kb = f"KB{m.group(1)}" if m else None
                # A driver has no KB number: it never counts (nor does the MSRT).
                if (
                    when
                    and kb is not None
                    and kb not in NOT_PATCHES
                    and (last is None or when > last)
                ):
                    last = when
                if kb is None:
                    continue  # drivers and other updates without a KB number
                known = installed.get(kb)
                if known is None or (when and (known["installed_at"] or "") < (iso(when) or "")):
                    installed[kb] = {"id": kb, "title": title, "installed_at": iso(when)}
        else:
            run.failed(history, "patches.history")

        qfe = ctx.cim_query("cim-qfe", "root/cimv2", "Win32_QuickFixEngineering")
        if qfe.ok:
            for fix in as_list(qfe.value):
                if not isinstance(fix, dict):
                    continue
                m = _KB.search(str(fix.get("HotFixID") or ""))
                if not m:
                    continue
                kb = f"KB{m.group(1)}"
                if kb not in installed:
                    installed[kb] = {
                        "id": kb,
                        "title": text(fix.get("Description"), 512),
                        "installed_at": iso(qfe_date(fix.get("InstalledOn"))),
                    }
        else:
            run.failed(qfe, "patches.hotfixes")

        pat["installed"] = sorted(installed.values(), key=lambda e: e["id"])[:5000]
        pat["last_install_at"] = iso(last)

        pending: bool | None = False
        for source, key in REBOOT_KEYS.items():
            res = ctx.read_registry(source, key)
            if res.ok:
                pending = True
            elif res.status is not Status.ABSENT and pending is False:
                run.failed(res, "patches.reboot")
                pending = None
        pat["pending_reboot"] = pending
        pat["pending_security_count"] = None
        run.error(
            "unsupported",
            "pending updates need an online Windows Update search, which the collector does not run",
            "patches.pending",
        )
