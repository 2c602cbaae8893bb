"""The live Windows context: run the PowerShell collector once, then replay its bundle.

The Python agent on Windows uses exactly the bundle the zero-install script
writes, so one set of parsers serves both ways of collecting. This module
only runs on Windows; its parsing half is tested here through recorded
bundles (tests/agent/fixtures).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from itaudit.agent.bundle import Bundle, BundleContext
from itaudit.agent.context import DEFAULT_TIMEOUT, MAX_OUTPUT, OSContext, Result
from itaudit.agent.errors import AgentError

SCRIPT_TIMEOUT = 300


def collector_script() -> str:
    return (
        resources.files("itaudit.agent")
        .joinpath("powershell/collect.ps1")
        .read_text(encoding="utf-8")
    )


class WindowsContext(OSContext):
    platform = "windows"

    def __init__(self) -> None:
        self._replay: BundleContext | None = None
        self._tmp: str | None = None

    def _bundle(self) -> BundleContext:
        if self._replay is None:
            self._tmp = tempfile.mkdtemp(prefix="itaudit-")
            script = Path(self._tmp) / "collect.ps1"
            # UTF-8 with BOM: Windows PowerShell 5.1 reads a BOM-less script as ANSI.
            script.write_text(collector_script(), encoding="utf-8-sig")
            out = Path(self._tmp) / "bundle"
            try:
                proc = subprocess.run(
                    [
                        "powershell.exe",
                        "-NoProfile",
                        "-NonInteractive",
                        "-ExecutionPolicy",
                        "Bypass",
                        "-File",
                        str(script),
                        "-OutDir",
                        str(out),
                        "-NoZip",
                    ],
                    capture_output=True,
                    timeout=SCRIPT_TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise AgentError(f"cannot run the PowerShell collector: {exc}") from exc
            if not (out / "manifest.json").is_file():
                err = proc.stderr.decode("utf-8", "replace")[-400:]
                raise AgentError(
                    f"the PowerShell collector wrote no bundle (exit {proc.returncode}): {err}"
                )
            self._replay = BundleContext(Bundle.open(out))
            self.utc_offset_minutes = self._replay.utc_offset_minutes
        return self._replay

    def close(self) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @property
    def elevated(self) -> bool | None:
        return self._bundle().elevated

    def run(self, source: str, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT) -> Result:
        return self._bundle().run(source, argv, timeout=timeout)

    def read_text(self, source: str, path: str, *, max_bytes: int = MAX_OUTPUT) -> Result:
        return self._bundle().read_text(source, path, max_bytes=max_bytes)

    def list_dir(self, source: str, path: str) -> Result:
        return self._bundle().list_dir(source, path)

    def read_registry(self, source: str, key: str) -> Result:
        return self._bundle().read_registry(source, key)

    def read_registry_tree(self, source: str, key: str) -> Result:
        return self._bundle().read_registry_tree(source, key)

    def cim_query(self, source: str, namespace: str, class_name: str) -> Result:
        return self._bundle().cim_query(source, namespace, class_name)

    def powershell(self, source: str, command: str) -> Result:
        return self._bundle().powershell(source, command)

    def services(self) -> Result:
        return self._bundle().services()

    def processes(self) -> Result:
        return self._bundle().processes()
