"""Linux hardware: SMBIOS through /sys/class/dmi/id, CPU, memory, disks, virtualisation.

product_uuid and product_serial are readable only by root: as a user they are
recorded as `denied`, the rest is still collected.
"""

from __future__ import annotations

import json
from typing import Any

from itaudit.agent.context import Status
from itaudit.agent.probes.base import Probe, ProbeRun, text, to_int

DMI = "/sys/class/dmi/id"
DMI_FILES = ("sys_vendor", "product_name", "product_serial", "product_uuid", "chassis_type")

# SMBIOS 3.x chassis types (DSP0134 7.4.1).
_DESKTOP = {3, 4, 5, 6, 7, 13, 15, 16, 24, 34, 35, 36}
_LAPTOP = {8, 9, 10, 14, 31, 32}
_TABLET = {11, 30}
_SERVER = {17, 23, 25, 28, 29}
_CONTAINERS = {
    "docker",
    "podman",
    "lxc",
    "lxc-libvirt",
    "systemd-nspawn",
    "openvz",
    "rkt",
    "wsl",
    "proot",
    "container-other",
}


def form_factor(chassis: list[int], virt: str | None) -> str:
    """desktop / laptop / server / vm / tablet / unknown.

    A virtual machine or a container is `vm`: not a physical asset, whatever
    chassis its firmware claims.
    """
    if virt and virt != "none":
        return "vm"
    for kind, codes in (
        ("laptop", _LAPTOP),
        ("tablet", _TABLET),
        ("server", _SERVER),
        ("desktop", _DESKTOP),
    ):
        if any(c in codes for c in chassis):
            return kind
    return "unknown"


def parse_cpuinfo(content: str) -> dict[str, Any]:
    model = None
    threads = 0
    cores: set[tuple[str, str]] = set()
    per_socket: dict[str, int] = {}
    physical = None
    hypervisor = False
    for line in content.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "processor":
            threads += 1
        elif key == "model name" and model is None:
            model = value
        elif key == "physical id":
            physical = value
        elif key == "core id" and physical is not None:
            cores.add((physical, value))
        elif key == "cpu cores" and physical is not None:
            per_socket[physical] = to_int(value) or 0
        elif key == "flags" and " hypervisor" in f" {value} ":
            hypervisor = True
    n_cores = len(cores) or (sum(per_socket.values()) or None)
    return {
        "model": text(model),
        "cores": n_cores,
        "threads": threads or None,
        "hypervisor": hypervisor,
    }


def parse_meminfo(content: str) -> int | None:
    for line in content.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            kb = to_int(parts[1]) if len(parts) >= 2 else None
            return kb * 1024 if kb is not None else None
    return None


def parse_lsblk(content: str) -> list[dict[str, Any]]:
    """The device tree of `lsblk -J -b -o NAME,SIZE,ROTA,RM,TYPE,MOUNTPOINT`."""
    data = json.loads(content)
    devices = data.get("blockdevices") if isinstance(data, dict) else None
    return devices if isinstance(devices, list) else []


def disks_from_lsblk(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for dev in devices:
        name = str(dev.get("name") or "")
        size = to_int(dev.get("size"))
        if (
            dev.get("type") != "disk"
            or not name
            or name.startswith(("zram", "loop", "ram"))
            or not size
        ):
            continue
        removable = _flag(dev.get("rm"))
        rota = _flag(dev.get("rota"))
        media = (
            "removable" if removable else "hdd" if rota else "ssd" if rota is False else "unknown"
        )
        out.append({"name": name[:256], "size_bytes": size, "media": media, "removable": removable})
    return out[:64]


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("1", 1):
        return True
    if value in ("0", 0):
        return False
    return None


class HardwareProbe(Probe):
    name = "hardware"

    def collect(self, run: ProbeRun) -> None:
        ctx, hw = run.ctx, run.section("hardware")
        dmi: dict[str, str | None] = {}
        listing = ctx.list_dir("dmi-id", DMI)
        if listing.ok:
            for name in DMI_FILES:
                res = ctx.read_text(f"dmi-{name.replace('_', '-')}", f"{DMI}/{name}")
                if res.ok:
                    dmi[name] = text(res.value, 128)
                elif res.status is Status.DENIED:
                    field = "hardware_uuid" if name == "product_uuid" else "serial"
                    run.error(
                        "denied", f"{DMI}/{name} is readable only by root", f"identity.{field}"
                    )
                else:
                    run.failed(res, "hardware.dmi")
        else:
            run.failed(
                listing,
                "hardware.dmi",
                f"{DMI} (no SMBIOS data: container, or firmware without SMBIOS)",
            )

        hw["manufacturer"] = dmi.get("sys_vendor")
        hw["model"] = dmi.get("product_name")
        if dmi.get("product_serial"):
            run.identity["serial"] = dmi["product_serial"]
        uuid = dmi.get("product_uuid")
        if uuid:
            run.identity["hardware_uuid"] = uuid.lower()
        chassis = [c for c in [to_int(dmi.get("chassis_type"))] if c is not None and 0 <= c <= 255]
        hw["chassis_types"] = chassis

        cpu_res = ctx.read_text("cpuinfo", "/proc/cpuinfo")
        cpu: dict[str, Any] = {}
        if cpu_res.ok:
            cpu = parse_cpuinfo(cpu_res.value)
            hw["cpu"] = {k: cpu[k] for k in ("model", "cores", "threads")}
        else:
            run.failed(cpu_res, "hardware.cpu")

        virt_res = ctx.run("systemd-detect-virt", ["systemd-detect-virt"])
        virt: str | None = None
        if virt_res.ok or (virt_res.exit_code == 1 and virt_res.value is not None):
            # systemd-detect-virt prints "none" and exits 1 on bare metal.
            virt = (virt_res.value or "").strip() or None
        elif cpu.get("hypervisor"):
            virt = "vm"
        hw["form_factor"] = form_factor(chassis, virt)

        mem = ctx.read_text("meminfo", "/proc/meminfo")
        if mem.ok:
            hw["memory_bytes"] = parse_meminfo(mem.value)
        else:
            run.failed(mem, "hardware.memory")

        devices = lsblk(run)
        if devices is not None:
            hw["disks"] = disks_from_lsblk(devices)


def lsblk(run: ProbeRun) -> list[dict[str, Any]] | None:
    """The block-device tree, read once for the hardware and security probes."""

    def read() -> list[dict[str, Any]] | None:
        res = run.ctx.run("lsblk", ["lsblk", "-J", "-b", "-o", "NAME,SIZE,ROTA,RM,TYPE,MOUNTPOINT"])
        if not res.ok:
            run.failed(res, "hardware.disks")
            return None
        try:
            return parse_lsblk(res.value)
        except ValueError:
            run.error("unparsed", "lsblk: output is not JSON", "hardware.disks")
            return None

    return run.once("lsblk", read)
