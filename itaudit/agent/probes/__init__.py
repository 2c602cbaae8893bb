"""Probes per platform, in the order they run.

Order matters only where a later probe reads what an earlier one memoised
(the security probe reuses the block-device listing of the hardware probe).
"""

from __future__ import annotations

from itaudit.agent.probes.base import Probe


def probes_for(platform: str) -> list[Probe]:
    if platform == "linux":
        from itaudit.agent.probes import linux as mod
    elif platform == "windows":
        from itaudit.agent.probes import windows as mod  # type: ignore[no-redef]
    else:
        return []
    return [cls() for cls in mod.PROBES]
