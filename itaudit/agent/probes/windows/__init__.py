"""Windows probes: one module per fact family, reading the sources the
PowerShell collector records (itaudit/agent/powershell/collect.ps1)."""

from __future__ import annotations

from itaudit.agent.probes.windows.hardware import HardwareProbe
from itaudit.agent.probes.windows.network import NetworkProbe
from itaudit.agent.probes.windows.os import OSProbe
from itaudit.agent.probes.windows.patches import PatchesProbe
from itaudit.agent.probes.windows.security import SecurityProbe
from itaudit.agent.probes.windows.software import SoftwareProbe

PROBES = (OSProbe, HardwareProbe, NetworkProbe, SecurityProbe, PatchesProbe, SoftwareProbe)
