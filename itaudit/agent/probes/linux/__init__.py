"""Linux probes: one module per fact family."""

from __future__ import annotations

from itaudit.agent.probes.linux.hardening import HardeningProbe
from itaudit.agent.probes.linux.hardware import HardwareProbe
from itaudit.agent.probes.linux.network import NetworkProbe
from itaudit.agent.probes.linux.os import OSProbe
from itaudit.agent.probes.linux.patches import PatchesProbe
from itaudit.agent.probes.linux.security import SecurityProbe
from itaudit.agent.probes.linux.software import SoftwareProbe

PROBES = (
    OSProbe,
    HardwareProbe,
    NetworkProbe,
    SecurityProbe,
    HardeningProbe,
    PatchesProbe,
    SoftwareProbe,
)
