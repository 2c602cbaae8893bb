"""The agent: probes that read a workstation and build one HostReport.

Every probe reads the machine through one injected `OSContext`
(`itaudit.agent.context`): the live context on Linux, the bundle context that
replays a recorded bundle (what the PowerShell collector writes on Windows,
and what the test fixtures hold). The same parsers serve both.

Importing this package loads nothing heavy: no store, no reporting stack.
"""

from __future__ import annotations

AGENT_NAME = "itaudit-agent"
