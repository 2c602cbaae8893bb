"""Fixtures for the scan tests that run the real nmap on a namespace lab.

`lab_scan` builds the lab of labdata.py once per module (hosts, workspace,
agent reports), and `scan_cli` runs the real `itaudit` CLI against it, with
the lab's /etc/hosts so nmap finds reverse names. Only addresses of the lab
network are ever scanned. Everything is torn down, also on failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import labdata
import netlab
import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


@dataclass
class LabScan:
    lab: netlab.Lab
    site: labdata.LabSite
    workspace: Path
    hosts_file: Path

    def cli(
        self,
        *args: str,
        names: bool = True,
        env: dict[str, str] | None = None,
        prefix: list[str] | None = None,
        workspace: Path | None = None,
    ) -> Run:
        """Run `itaudit -w WORKSPACE ARGS` (after `prefix`, e.g. setpriv); with `names`,
        nmap sees the lab's /etc/hosts."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
        full_env["PYTHONIOENCODING"] = "utf-8"
        full_env.update(env or {})
        cmd = [*(prefix or []), sys.executable, "-m", "itaudit"]
        cmd += ["-w", str(workspace or self.workspace), *args]
        if names:
            cmd = netlab.with_hosts_file(cmd, self.hosts_file)
        proc = subprocess.run(
            cmd,
            capture_output=True,
            env=full_env,
            timeout=180,
            cwd=REPO,
        )
        return Run(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )


@pytest.fixture(scope="module")
def lab_scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabScan]:
    reason = netlab.unavailable_for_scans()
    if reason:
        pytest.skip(f"namespace lab unavailable: {reason}")
    root = tmp_path_factory.mktemp("lab")
    lab = netlab.Lab()
    try:
        lab.start()
        labdata.start_hosts(lab)
        site = labdata.LabSite(lab.network)
        workspace = labdata.build_workspace(site, root / "ws")
        hosts_file = lab.hosts_file(root / "hosts", labdata.DNS_NAMES)
        yield LabScan(lab, site, workspace, hosts_file)
    finally:
        lab.close()
