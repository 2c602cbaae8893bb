"""Windows security: anti-malware (SecurityCenter2, Defender, catalogue), EDR,
firewall (ActiveStore), BitLocker, local administrators by SID, built-in
accounts, password and lockout policy, screen lock, RDP and NLA, SMBv1,
autorun, time service.

Every decision reads numbers, SIDs, API enumerations or registry values;
display names and messages (localised) are only carried, never parsed.
"""

from __future__ import annotations

from typing import Any

from itaudit.agent import catalog as cat
from itaudit.agent.context import Result, Status
from itaudit.agent.probes.base import (
    Probe,
    ProbeRun,
    as_list,
    iso,
    ps_datetime,
    text,
    to_bool,
    to_int,
)
from itaudit.agent.probes.products import catalog_entry
from itaudit.agent.probes.windows import hardening, secedit
from itaudit.agent.probes.windows.accounts import local_accounts
from itaudit.agent.probes.windows.antimalware import (
    Seen,
    console_of,
    registration_running,
    services_state,
)
from itaudit.agent.probes.windows.productstate import decode

ADMINISTRATORS_SID = "S-1-5-32-544"
DEFENDER = "Microsoft Defender Antivirus"
TIMEQ_FOREVER = 0xFFFFFFFF
NO_SIGNATURES = 65535  # AntivirusSignatureAge when no signature set was ever loaded
# Default names of the built-in Administrator account in the languages it is
# translated into; anything else means it was renamed.
_DEFAULT_ADMIN_NAMES = {
    "administrator",
    "administrateur",
    "administrador",
    "administratör",
    "järjestelmänvalvoja",
    "rendszergazda",
    "администратор",
}
_FIREWALL_ACTION = {
    0: None,
    2: "allow",
    4: "block",
    "notconfigured": None,
    "allow": "allow",
    "block": "block",
}
_BITLOCKER_METHOD = {
    0: None,
    1: "Aes128Diffuser",
    2: "Aes256Diffuser",
    3: "Aes128",
    4: "Aes256",
    5: "Hardware",
    6: "XtsAes128",
    7: "XtsAes256",
}
_PRINCIPAL_SOURCE = {
    1: "local",
    2: "domain",
    3: "azuread",
    4: "local",
    "local": "local",
    "activedirectory": "domain",
    "azuread": "azuread",
    "microsoftaccount": "local",
}
_RUNNING_MODE = (
    ("passive", "passive"),
    ("edr block", "edr_block"),
    ("normal", "active"),
    ("not running", "disabled"),
)

REG = {
    "reg-desktop": r"HKCU:\Control Panel\Desktop",
    "reg-desktop-policy": r"HKCU:\Software\Policies\Microsoft\Windows\Control Panel\Desktop",
    "reg-system-policy": r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System",
    "reg-terminal-server": r"HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server",
    "reg-rdp-tcp": r"HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp",
    "reg-ts-policy": r"HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services",
    "reg-lanmanserver": r"HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters",
    "reg-svc-srv": r"HKLM:\SYSTEM\CurrentControlSet\Services\srv",
    "reg-svc-mrxsmb10": r"HKLM:\SYSTEM\CurrentControlSet\Services\mrxsmb10",
    "reg-explorer-policy-hklm": r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer",
    "reg-explorer-policy-hkcu": r"HKCU:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer",
    "reg-w32time-params": r"HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters",
}


def running_mode(value: Any) -> str | None:
    """Defender AMRunningMode ("Normal", "Passive Mode", "SxS Passive Mode", "EDR Block Mode")."""
    s = text(value, 64)
    if not s:
        return None
    low = s.lower()
    for needle, mode in _RUNNING_MODE:
        if needle in low:
            return mode
    return "unknown"


def local_name(name: str | None, computer: str) -> str | None:
    """An account of this computer by its bare name ("quantri"), as the built-in
    account and the unit's allow-list name it; other domains keep "DOMAIN\\user".

    Get-LocalGroupMember and Win32_GroupUser write local accounts as
    "COMPUTER\\name", which would never equal an allow-listed "name".
    """
    if not name or "\\" not in name or not computer:
        return name
    prefix, _, bare = name.partition("\\")
    return bare if prefix.lower() == computer.lower() and bare else name


def process_names(raw: Any) -> list[str]:
    return [
        p["Name"] for p in as_list(raw) if isinstance(p, dict) and isinstance(p.get("Name"), str)
    ]


class SecurityProbe(Probe):
    name = "security"

    def collect(self, run: ProbeRun) -> None:
        ctx, sec = run.ctx, run.section("security")
        svc_res, proc_res = ctx.services(), ctx.processes()
        run.failed(svc_res, "security.services")
        run.failed(proc_res, "security.processes")
        services = services_state(svc_res.value) if svc_res.ok else []
        processes = process_names(proc_res.value) if proc_res.ok else []
        sightings = cat.match(run.catalog, "windows", services, processes)
        self._products(
            run,
            sec,
            sightings,
            Seen(
                svc_res.value if svc_res.ok else None,
                processes if proc_res.ok else None,
            ),
        )
        for name, method in (
            ("firewall", self._firewall),
            ("disk_encryption", self._bitlocker),
            ("local_admins", self._local_admins),
            ("accounts", self._accounts),
            ("password_policy", self._password_policy),
            ("screen_lock", self._screen_lock),
            ("remote_desktop", self._rdp),
            ("smb1", self._smb1),
            ("autorun", self._autorun),
            ("uac", hardening.uac),
            ("name_resolution", hardening.name_resolution),
            ("usb_storage", hardening.usb_storage),
            ("local_accounts", local_accounts),
        ):
            run.probe = f"security.{name}"
            sec[name] = method(run)
        # The service list with start modes (hardening.py); the update services come from it.
        service_list = hardening.service_list(svc_res.value) if svc_res.ok else None
        sec["services"] = service_list
        run.probe = "security.windows_update"
        sec["windows_update"] = hardening.windows_update(run, service_list)
        run.probe = "security.time_sync"
        sec["time_sync"] = self._time(run, dict(services))
        sec["ssh"] = None

    def _reg(self, run: ProbeRun, source: str) -> Result:
        return run.ctx.read_registry(source, REG[source])

    # -- anti-malware and EDR ----------------------------------------------------
    def _products(
        self,
        run: ProbeRun,
        sec: dict[str, Any],
        sightings: list[cat.Sighting],
        seen: Seen,
    ) -> None:
        run.probe = "security.antivirus"
        by_id = {s.product.id: s for s in sightings}
        antivirus: list[dict[str, Any]] = []
        linked: set[str] = set()

        wsc = run.ctx.cim_query("cim-antivirusproduct", "root/SecurityCenter2", "AntiVirusProduct")
        if wsc.ok:
            for item in as_list(wsc.value):
                name = text(item.get("displayName")) if isinstance(item, dict) else None
                if name is None:
                    continue
                product = run.catalog.by_securitycenter_name(name)
                if product:
                    linked.add(product.id)
                raw = to_int(item.get("productState"))
                try:
                    state = decode(raw) if raw is not None else None
                except ValueError:
                    state = None
                running, leftover = registration_running(
                    product, by_id.get(product.id) if product else None, item, seen
                )
                managed = seen.managed(product) if product else None
                antivirus.append(
                    {
                        "name": name,
                        "vendor": product.vendor if product else None,
                        "source": "securitycenter",
                        "enabled": state.enabled if state else None,
                        "up_to_date": state.up_to_date if state else None,
                        "signature_date": None,
                        "signature_version": None,
                        "product_state": raw if state else None,
                        # A registration survives an uninstall: only a running service or process confirms it.
                        "running": running,
                        "leftover": leftover,
                        "mode": state.mode if state else None,
                        "managed": managed,
                        "console": console_of(product) if managed else None,
                    }
                )
        elif wsc.status is Status.ABSENT and run.section("os").get("server") is True:
            # Windows Server has no SecurityCenter2 (ProductType 2 or 3): normal there, not a
            # failure of anything. Get-MpComputerStatus, the services and the catalogue decide.
            pass
        elif wsc.status is Status.ABSENT:
            run.error(
                "unsupported",
                f"root/SecurityCenter2 does not exist on this edition (Windows Server has none): {wsc.message}",
            )
        else:
            run.failed(wsc)

        mp = run.ctx.powershell("mp-computerstatus", "Get-MpComputerStatus")
        defender = by_id.get("defender-av")
        sense = by_id.get("defender-endpoint")
        if mp.ok and isinstance(mp.value, dict):
            status = mp.value
            mode = running_mode(status.get("AMRunningMode"))
            rtp = to_bool(status.get("RealTimeProtectionEnabled"))
            out_of_date = to_bool(status.get("DefenderSignaturesOutOfDate"))
            if to_int(status.get("AntivirusSignatureAge")) == NO_SIGNATURES or not (
                text(status.get("AntivirusSignatureVersion"))
                or status.get("AntivirusSignatureLastUpdated")
            ):
                # "Not running" under a third-party product: no signatures loaded, yet
                # DefenderSignaturesOutOfDate says False. Neither up to date nor out of date.
                out_of_date = None
            product = defender.product if defender else run.catalog.by_id("defender-av")
            managed = True if sense and sense.running else seen.managed(product)
            antivirus.append(
                {
                    "name": DEFENDER,
                    "vendor": "Microsoft",
                    "source": "defender",
                    # Passive mode scans nothing in real time, whatever the RTP flag says.
                    "enabled": bool(rtp) and mode not in ("passive", "disabled")
                    if rtp is not None
                    else None,
                    "up_to_date": (not out_of_date) if out_of_date is not None else None,
                    "signature_date": iso(ps_datetime(status.get("AntivirusSignatureLastUpdated"))),
                    "signature_version": text(status.get("AntivirusSignatureVersion"), 128),
                    "product_state": None,
                    "running": defender.running
                    if defender
                    else to_bool(status.get("AMServiceEnabled")),
                    "mode": mode,
                    "managed": managed,
                    "console": "Microsoft Defender for Endpoint"
                    if sense and sense.running
                    else console_of(product)
                    if managed
                    else None,
                    **self._defender_features(run, status),
                }
            )
            linked.add("defender-av")
        elif mp.status is Status.ABSENT:
            run.error(
                "absent",
                f"Get-MpComputerStatus is not available (Defender not installed): {mp.message}",
            )
        else:
            # With a third-party antivirus and no Defender for Endpoint, Defender is off and the
            # cmdlet fails (0x800106ba): expected, the third-party product is what counts.
            run.failed(mp, what="Get-MpComputerStatus")

        edr: list[dict[str, Any]] = []
        for s in sightings:
            if s.product.kind == "edr":
                edr.append(catalog_entry(s))
            elif s.product.id not in linked:
                managed = seen.managed(s.product)
                antivirus.append(
                    catalog_entry(s, managed, console_of(s.product) if managed else None)
                )
        sec["antivirus"] = antivirus[:32]
        sec["edr"] = edr[:32]
        recognised = [s.product for s in sightings] + [
            p for p in (run.catalog.by_id(i) for i in linked) if p is not None
        ]
        sec["uncatalogued"] = seen.uncatalogued(run.catalog, recognised)[:64]

    @staticmethod
    def _defender_features(run: ProbeRun, status: dict[str, Any]) -> dict[str, Any]:
        prefs = run.ctx.powershell("mp-preference", "Get-MpPreference")
        if not prefs.ok:
            # Its own probe name: the preferences decide L1-AV-05/06 only (their `probes:`),
            # never whether the antivirus itself was seen.
            run.failed(prefs, probe="security.defender_preferences", what="Get-MpPreference")
        return hardening.defender_features(prefs, status)

    # -- firewall -----------------------------------------------------------------
    def _firewall(self, run: ProbeRun) -> dict[str, Any] | None:
        res = run.ctx.powershell("fw-profiles", "Get-NetFirewallProfile -PolicyStore ActiveStore")
        if not res.ok:
            run.failed(res)
            return None
        profiles = []
        for p in as_list(res.value):
            if not isinstance(p, dict) or not text(p.get("Name")):
                continue
            enabled = to_int(p.get("Enabled"))  # GpoBoolean: 0 False, 1 True, 2 NotConfigured
            if enabled is None:
                enabled = {"true": 1, "false": 0}.get(str(p.get("Enabled")).lower())
            profiles.append(
                {
                    "name": str(text(p.get("Name"), 64)).lower(),
                    "enabled": None if enabled not in (0, 1) else enabled == 1,
                    "default_inbound": _action(p.get("DefaultInboundAction")),
                    "default_outbound": _action(p.get("DefaultOutboundAction")),
                }
            )
        return {"product": "windows", "profiles": profiles[:16]}

    # -- BitLocker -----------------------------------------------------------------
    def _bitlocker(self, run: ProbeRun) -> dict[str, Any] | None:
        res = run.ctx.powershell("bitlocker", "Get-BitLockerVolume")
        if not res.ok:
            if res.status is Status.DENIED or (
                res.status is Status.FAILED and not run.ctx.elevated
            ):
                run.error("denied", f"BitLocker status needs administrator rights: {res.message}")
            else:
                run.failed(res)
            return None
        volumes = []
        for v in as_list(res.value):
            if not isinstance(v, dict) or not text(v.get("MountPoint")):
                continue
            status = to_int(v.get("ProtectionStatus"))
            if status is None:
                status = {"off": 0, "on": 1}.get(str(v.get("ProtectionStatus")).lower(), 2)
            method = v.get("EncryptionMethod")
            method_code = to_int(method)
            method_name = (
                _BITLOCKER_METHOD.get(method_code) if method_code is not None else text(method, 64)
            )
            percent = to_int(v.get("EncryptionPercentage"))
            volumes.append(
                {
                    "mount": text(v.get("MountPoint"), 256),
                    "protection": {0: "off", 1: "on"}.get(status, "unknown"),
                    "method": method_name if method_name not in ("None", "") else None,
                    "percent": percent if percent is not None and 0 <= percent <= 100 else None,
                }
            )
        return {"volumes": volumes[:64]}

    # -- accounts -------------------------------------------------------------------
    def _local_admins(self, run: ProbeRun) -> list[dict[str, Any]]:
        primary = run.ctx.powershell(
            "local-admins", f"Get-LocalGroupMember -SID {ADMINISTRATORS_SID}"
        )
        fallback = run.ctx.powershell(
            "local-admins-cim", f"Win32_Group {ADMINISTRATORS_SID} -> Win32_GroupUser"
        )
        computer = str(run.identity.get("hostname") or "")
        kinds: dict[str, str] = {}
        cim_members: list[dict[str, Any]] = []
        if fallback.ok:
            for m in as_list(fallback.value):
                if not isinstance(m, dict) or not text(m.get("Name")):
                    continue
                cls = str(m.get("Class") or "")
                kind = (
                    "group"
                    if cls == "Win32_Group"
                    else "user"
                    if cls in ("Win32_UserAccount", "Win32_SystemAccount")
                    else "unknown"
                )
                sid = text(m.get("SID"), 256)
                if sid:
                    kinds[sid] = kind
                domain = text(m.get("Domain"), 128)
                local = to_bool(m.get("LocalAccount"))
                cim_members.append(
                    {
                        "name": local_name(
                            f"{domain}\\{text(m.get('Name'))}" if domain else text(m.get("Name")),
                            computer,
                        ),
                        "sid": sid,
                        "kind": kind,
                        "source": "local" if local else "domain" if local is False else "unknown",
                    }
                )
        if primary.ok:
            out = []
            for m in as_list(primary.value):
                if not isinstance(m, dict) or not text(m.get("Name")):
                    continue
                sid = text(m.get("SID"), 256)
                cls = str(m.get("ObjectClass") or "")
                # ObjectClass is localised: trust the CIM class for the same SID first.
                kind = kinds.get(sid or "") or {"User": "user", "Group": "group"}.get(
                    cls, "unknown"
                )
                src = m.get("PrincipalSource")
                key = to_int(src) if to_int(src) is not None else str(src).lower()
                out.append(
                    {
                        "name": local_name(text(m.get("Name")), computer),
                        "sid": sid,
                        "kind": kind,
                        "source": _PRINCIPAL_SOURCE.get(key, "unknown"),
                    }
                )
            return out[:256]
        if fallback.ok:
            run.error(
                ERROR_FOR[primary.status],
                f"Get-LocalGroupMember failed ({primary.message or primary.status.value}); members read through CIM instead",
            )
            return cim_members[:256]
        run.failed(primary)
        run.failed(fallback)
        return []

    def _accounts(self, run: ProbeRun) -> dict[str, Any] | None:
        res = run.ctx.cim_query("cim-useraccounts", "root/cimv2", "Win32_UserAccount")
        if not res.ok:
            run.failed(res)
            return None
        admin = guest = None
        for u in as_list(res.value):
            if not isinstance(u, dict):
                continue
            sid = str(u.get("SID") or "")
            disabled = to_bool(u.get("Disabled"))
            name = text(u.get("Name"))
            # Built-in accounts are known by their RID (-500, -501), never by name.
            if sid.startswith("S-1-5-21-") and sid.endswith("-500"):
                admin = {
                    "name": name,
                    "enabled": (not disabled) if disabled is not None else None,
                    "renamed": (name or "").lower() not in _DEFAULT_ADMIN_NAMES if name else None,
                }
            elif sid.startswith("S-1-5-21-") and sid.endswith("-501"):
                guest = {"name": name, "enabled": (not disabled) if disabled is not None else None}
        return {"builtin_admin": admin, "guest": guest, "uid0": []}

    def _password_policy(self, run: ProbeRun) -> dict[str, Any] | None:
        res = run.ctx.powershell("netusermodals", "NetUserModalsGet levels 0 and 3")
        access = self._security_policy(run)
        if res.ok and isinstance(res.value, dict):
            policy = self._modals_policy(res.value)
        elif access is not None:
            # NetUserModalsGet failed but the security policy export holds the same figures.
            run.failed(res)
            policy = secedit.policy(access)
        else:
            run.failed(res)
            return None
        # Complexity only comes from the export; without it the rule reading it cannot be decided.
        policy["complexity"] = secedit.complexity(access) if access is not None else None
        return policy

    def _security_policy(self, run: ProbeRun) -> dict[str, int] | None:
        """[System Access] of the secedit export, or None with the reason recorded in errors."""
        res = run.ctx.run(secedit.SOURCE, list(secedit.ARGV))
        if res.ok:
            access = secedit.system_access(res.value)
            if access is None:
                run.error("unparsed", f"{res.source}: no [System Access] section in the export")
            elif secedit.complexity(access) is None:
                run.error("unparsed", f"{res.source}: no PasswordComplexity value of 0 or 1")
            return access
        if res.status is Status.DENIED:
            # The collector does not run secedit without administrator rights: it records denied.
            run.error("denied", f"password complexity needs administrator rights: {res.describe()}")
        else:
            run.failed(res, what="secedit /export")
        return None

    @staticmethod
    def _modals_policy(v: dict[str, Any]) -> dict[str, Any]:
        """password_policy facts from NetUserModalsGet levels 0 and 3 (complexity is not there)."""

        def days(seconds: Any) -> int | None:
            s = to_int(seconds)
            if s is None:
                return None
            if s == TIMEQ_FOREVER:
                return 0  # never expires
            return min(s // 86400, 100000)

        duration = to_int(v.get("LockoutDurationSeconds"))
        return {
            "min_length": to_int(v.get("MinPasswordLength")),
            "max_age_days": days(v.get("MaxPasswordAgeSeconds")),
            "min_age_days": days(v.get("MinPasswordAgeSeconds")),
            "history": to_int(v.get("PasswordHistoryLength")),
            "complexity": None,
            "lockout_threshold": to_int(v.get("LockoutThreshold")),
            # TIMEQ_FOREVER: locked until an administrator unlocks; reported as the maximum.
            "lockout_duration_minutes": None
            if duration is None
            else 100000
            if duration == TIMEQ_FOREVER
            else min(duration // 60, 100000),
        }

    # -- screen lock, RDP, SMBv1, autorun ----------------------------------------
    def _screen_lock(self, run: ProbeRun) -> dict[str, Any] | None:
        user = self._reg(run, "reg-desktop")
        policy = self._reg(run, "reg-desktop-policy")
        machine = self._reg(run, "reg-system-policy")
        values: dict[str, Any] = {}
        for res in (user, policy):  # policy overrides the user's own setting
            if res.ok and isinstance(res.value, dict):
                values.update({k: v for k, v in res.value.items() if v not in (None, "")})
            elif res.status not in (Status.ABSENT,):
                run.failed(res)
        if not user.ok and user.status is not Status.ABSENT:
            return None
        active = to_bool(values.get("ScreenSaveActive"))
        timeout = to_int(values.get("ScreenSaveTimeOut"))
        secure = to_bool(values.get("ScreenSaverIsSecure"))
        inactivity = (
            to_int(machine.value.get("InactivityTimeoutSecs"))
            if machine.ok and isinstance(machine.value, dict)
            else None
        )
        if inactivity:
            # The machine inactivity limit locks the session whatever the screen saver says.
            lock_after = min(inactivity, timeout) if active and secure and timeout else inactivity
            return {"enabled": True, "timeout_seconds": lock_after, "requires_password": True}
        if active is None and timeout is None:
            return {"enabled": False, "timeout_seconds": None, "requires_password": None}
        return {
            "enabled": bool(active) and bool(secure),
            "timeout_seconds": timeout,
            "requires_password": secure,
        }

    def _rdp(self, run: ProbeRun) -> dict[str, Any] | None:
        ts, tcp, pol = (
            self._reg(run, "reg-terminal-server"),
            self._reg(run, "reg-rdp-tcp"),
            self._reg(run, "reg-ts-policy"),
        )
        if not ts.ok:
            run.failed(ts)
            return None
        deny = to_int(_get(pol, "fDenyTSConnections"))
        if deny is None:
            deny = to_int(_get(ts, "fDenyTSConnections"))
        nla = to_int(_get(pol, "UserAuthentication"))
        if nla is None:
            nla = to_int(_get(tcp, "UserAuthentication"))
        if tcp.status is not Status.ABSENT:
            run.failed(tcp)
        return {
            "enabled": None if deny is None else deny == 0,
            "nla_required": None if nla is None else nla == 1,
            "port": to_int(_get(tcp, "PortNumber")),
        }

    def _smb1(self, run: ProbeRun) -> dict[str, Any] | None:
        params, srv, client = (
            self._reg(run, "reg-lanmanserver"),
            self._reg(run, "reg-svc-srv"),
            self._reg(run, "reg-svc-mrxsmb10"),
        )
        server: bool | None
        smb1 = to_int(_get(params, "SMB1"))
        if smb1 is not None:
            server = smb1 != 0
        elif srv.status is Status.ABSENT:
            server = False  # the SMB1 server driver is not installed
        elif srv.ok:
            server = to_int(_get(srv, "Start")) != 4
        else:
            run.failed(srv)
            server = None
        if client.status is Status.ABSENT:
            client_on: bool | None = False  # the SMB1 client driver (mrxsmb10) is not installed
        elif client.ok:
            client_on = to_int(_get(client, "Start")) != 4
        else:
            run.failed(client)
            client_on = None
        return {"server_enabled": server, "client_enabled": client_on}

    def _autorun(self, run: ProbeRun) -> dict[str, Any] | None:
        machine, user = (
            self._reg(run, "reg-explorer-policy-hklm"),
            self._reg(run, "reg-explorer-policy-hkcu"),
        )
        value = to_int(_get(machine, "NoDriveTypeAutoRun"))
        if value is None:
            value = to_int(_get(user, "NoDriveTypeAutoRun"))
        for res in (machine, user):
            if not res.ok and res.status is not Status.ABSENT:
                run.failed(res)
        if value is not None and not 0 <= value <= 255:
            value &= 0xFF
        no_autorun = to_int(_get(machine, "NoAutorun"))
        if no_autorun is None:
            no_autorun = to_int(_get(user, "NoAutorun"))
        readable = any(r.ok or r.status is Status.ABSENT for r in (machine, user))
        # Without the policy Windows uses 0x91, which leaves autorun on for some drive types;
        # NoAutorun 1 also stops autorun.inf commands on every drive ("Do not execute any
        # autorun commands"). Not set (key or value missing) is the Windows default: off.
        return {
            "disabled": value == 0xFF,
            "no_drive_type_autorun": value,
            "no_autorun": (no_autorun == 1) if readable else None,
        }

    def _time(self, run: ProbeRun, services: dict[str, bool]) -> dict[str, Any] | None:
        params = self._reg(run, "reg-w32time-params")
        if not params.ok:
            run.failed(params)
            return None
        kind = text(_get(params, "Type"), 16)
        server = text(_get(params, "NtpServer"), 256)
        running = next((r for n, r in services.items() if n.lower() == "w32time"), None)
        source = (
            server
            if kind in ("NTP", "AllSync")
            else "domain hierarchy"
            if kind == "NT5DS"
            else None
        )
        return {
            "enabled": None if kind is None else kind != "NoSync" and running is not False,
            "service": "w32time",
            "source": source,
            "synchronized": None,
        }


ERROR_FOR = {
    Status.ABSENT: "absent",
    Status.DENIED: "denied",
    Status.FAILED: "failed",
    Status.TIMEOUT: "timeout",
    Status.UNSUPPORTED: "unsupported",
    Status.OK: "failed",
}


def _get(res: Result, name: str) -> Any:
    return res.value.get(name) if res.ok and isinstance(res.value, dict) else None


def _action(value: Any) -> str | None:
    key: int | str | None = to_int(value)
    if key is None:
        key = str(value).lower() if value is not None else None
    action = _FIREWALL_ACTION.get(key, "unknown") if key is not None else None
    return action
