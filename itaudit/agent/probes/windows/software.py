"""Windows software: the Uninstall registry keys (64-bit, 32-bit, and the user's)."""

from __future__ import annotations

from typing import Any

from itaudit.agent import software_catalog
from itaudit.agent.probes.base import Probe, ProbeRun, text, to_int, yyyymmdd

UNINSTALL = {
    "reg-uninstall-64": (r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall", "x64"),
    "reg-uninstall-32": (
        r"HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
        "x86",
    ),
    "reg-uninstall-user": (r"HKCU:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall", "unknown"),
}
# ReleaseType values installers write for updates (API words, not translated).
_UPDATES = {"update", "hotfix", "security update", "service pack"}


def software_entries(tree: dict[str, Any], arch: str) -> list[dict[str, Any]]:
    out = []
    for _key, values in tree.items():
        if not isinstance(values, dict):
            continue
        name = text(values.get("DisplayName"))
        if not name or to_int(values.get("SystemComponent")) == 1 or values.get("ParentKeyName"):
            continue
        if str(values.get("ReleaseType") or "").lower() in _UPDATES:
            continue
        out.append(
            {
                "name": name,
                "version": text(values.get("DisplayVersion"), 128),
                "publisher": text(values.get("Publisher")),
                "installed_at": yyyymmdd(values.get("InstallDate")),
                "arch": arch,
            }
        )
    return out


class SoftwareProbe(Probe):
    name = "software"

    def collect(self, run: ProbeRun) -> None:
        seen: set[tuple[str, str | None, str]] = set()
        items: list[dict[str, Any]] = []
        complete = True
        for source, (key, arch) in UNINSTALL.items():
            res = run.ctx.read_registry_tree(source, key)
            if not res.ok:
                complete = (
                    complete and res.status.value == "absent" and source != "reg-uninstall-64"
                )
                # No WOW6432Node on 32-bit Windows, no per-user installs: not errors.
                if not (source != "reg-uninstall-64" and res.status.value == "absent"):
                    run.failed(res)
                continue
            for entry in software_entries(res.value if isinstance(res.value, dict) else {}, arch):
                ident = (entry["name"], entry["version"], entry["arch"])
                if ident not in seen:
                    seen.add(ident)
                    items.append(entry)
        items.sort(key=lambda e: (e["name"].lower(), e["version"] or "", e["arch"]))
        run.report["software"] = items[:20000]
        # What the software catalogue flags (software-catalog.yaml), from the programs and the
        # services; unknown (null) when the machine's programs could not all be read.
        services = run.section("security").get("services")
        run.section("security")["flagged_software"] = (
            software_catalog.flag(software_catalog.bundled(), items, services) if complete else None
        )
