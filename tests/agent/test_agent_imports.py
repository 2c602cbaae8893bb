"""`agent collect` must not load the reporting stack."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "jinja2", "tabulate", "openpyxl")

SNIPPET = f"""
import sys
HEAVY = {HEAVY!r}
from click.testing import CliRunner
from itaudit.cli import cli
result = CliRunner().invoke(cli, ["agent", "collect", "--no-sign", "--out", sys.argv[1]])
assert result.exit_code == 0, result.output
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)))
"""


def test_agent_collect_imports_no_reporting_stack(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
    assert (tmp_path / "r.json").stat().st_size > 1000
