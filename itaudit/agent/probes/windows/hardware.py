"""Windows hardware: manufacturer, model, serial, SMBIOS UUID, chassis, CPU, memory, disks."""

from __future__ import annotations

from typing import Any

from itaudit.agent.probes.base import (
    Probe,
    ProbeRun,
    as_list,
    hostname_label,
    text,
    to_bool,
    to_int,
)
from itaudit.agent.probes.linux.hardware import form_factor
from itaudit.agent.probes.windows.os import first
from itaudit.identity import normalise_serial

# Model / manufacturer strings of common hypervisors (SMBIOS of the virtual firmware).
_VM_MARKERS = (
    "virtual machine",
    "vmware",
    "virtualbox",
    "kvm",
    "qemu",
    "hvm domu",
    "bochs",
    "parallels",
)
# Win32_ComputerSystem.PCSystemType when the chassis says nothing useful.
_PC_SYSTEM_TYPE = {
    1: "desktop",
    2: "laptop",
    3: "desktop",
    4: "server",
    5: "server",
    7: "server",
    8: "tablet",
}
# MSFT_PhysicalDisk.MediaType and BusType.
_MEDIA = {3: "hdd", 4: "ssd", 5: "ssd"}
_BUS_USB = 7
_NO_ASSET_TAG = {
    "no asset tag",
    "no asset information",
    "asset-1234567890",
    "none",
    "default string",
}


def windows_form_factor(system: dict[str, Any], chassis: list[int], server_os: bool | None) -> str:
    marker = f"{system.get('Manufacturer') or ''} {system.get('Model') or ''}".lower()
    if any(m in marker for m in _VM_MARKERS):
        return "vm"
    kind = form_factor(chassis, None)
    if kind != "unknown":
        return kind
    by_type = _PC_SYSTEM_TYPE.get(to_int(system.get("PCSystemType")) or 0)
    if by_type:
        return by_type
    return "server" if server_os else "unknown"


class HardwareProbe(Probe):
    name = "hardware"

    def collect(self, run: ProbeRun) -> None:
        ctx, hw, ident = run.ctx, run.section("hardware"), run.identity
        cs = ctx.cim_query("cim-computersystem", "root/cimv2", "Win32_ComputerSystem")
        bios = ctx.cim_query("cim-bios", "root/cimv2", "Win32_BIOS")
        product = ctx.cim_query(
            "cim-computersystemproduct", "root/cimv2", "Win32_ComputerSystemProduct"
        )
        enclosure = ctx.cim_query("cim-systemenclosure", "root/cimv2", "Win32_SystemEnclosure")
        cpu = ctx.cim_query("cim-processor", "root/cimv2", "Win32_Processor")
        disks = ctx.cim_query(
            "cim-physicaldisk", "root/Microsoft/Windows/Storage", "MSFT_PhysicalDisk"
        )
        for res, probe in (
            (cs, "hardware.system"),
            (bios, "identity.serial"),
            (product, "identity.hardware_uuid"),
            (enclosure, "hardware.chassis"),
            (cpu, "hardware.cpu"),
            (disks, "hardware.disks"),
        ):
            run.failed(res, probe)

        system = first(cs.value) if cs.ok else {}
        hw["manufacturer"] = text(system.get("Manufacturer"), 128)
        hw["model"] = text(system.get("Model"), 128)
        hw["memory_bytes"] = to_int(system.get("TotalPhysicalMemory"))
        name = hostname_label(system.get("Name"))
        if name:
            ident["hostname"] = name
        dns_host = text(system.get("DNSHostName"), 63)
        if dns_host and to_bool(system.get("PartOfDomain")) and system.get("Domain"):
            ident["fqdn"] = f"{dns_host}.{text(system.get('Domain'), 180)}".lower()

        if bios.ok:
            ident["serial"] = text(first(bios.value).get("SerialNumber"), 128)
        if product.ok:
            uuid = text(first(product.value).get("UUID"), 64)
            ident["hardware_uuid"] = uuid.lower() if uuid else None
        chassis: list[int] = []
        if enclosure.ok:
            enc = first(enclosure.value)
            chassis = [
                c
                for c in (to_int(v) for v in as_list(enc.get("ChassisTypes")))
                if c is not None and 0 <= c <= 255
            ]
            tag = text(enc.get("SMBIOSAssetTag"), 64)
            if tag and normalise_serial(tag) and tag.lower() not in _NO_ASSET_TAG:
                ident["asset_tag"] = tag
        hw["chassis_types"] = chassis[:16]
        hw["form_factor"] = windows_form_factor(system, chassis, run.section("os").get("server"))

        if cpu.ok:
            procs = [p for p in as_list(cpu.value) if isinstance(p, dict)]
            if procs:
                cores = [to_int(p.get("NumberOfCores")) for p in procs]
                threads = [to_int(p.get("NumberOfLogicalProcessors")) for p in procs]
                hw["cpu"] = {
                    "model": text(procs[0].get("Name")),
                    "cores": sum(cores) if all(c is not None for c in cores) else None,
                    "threads": sum(threads) if all(t is not None for t in threads) else None,
                }
        if disks.ok:
            out = []
            for d in as_list(disks.value):
                if not isinstance(d, dict):
                    continue
                usb = to_int(d.get("BusType")) == _BUS_USB
                out.append(
                    {
                        "name": text(d.get("FriendlyName")) or f"disk {d.get('DeviceId')}",
                        "size_bytes": to_int(d.get("Size")),
                        "media": "removable"
                        if usb
                        else _MEDIA.get(to_int(d.get("MediaType")) or 0, "unknown"),
                        "removable": usb,
                    }
                )
            hw["disks"] = out[:64]
