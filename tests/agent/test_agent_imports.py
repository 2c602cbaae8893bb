"""`agent collect` loads the agent's own dependencies, never the reporting or store stack."""

from __future__ import annotations

import subprocess
import sys

# The store, the rule engine, the reports and the scanner (see pyproject.toml).
HEAVY = (
    "sqlalchemy",
    "psycopg",
    "jinja2",
    "markupsafe",
    "tabulate",
    "openpyxl",
    "docx",
    "lxml",
    "holidays",
    "nmap",
    "orjson",
)

SNIPPET = f"""
import sys
HEAVY = {HEAVY!r}
from click.testing import CliRunner
from itaudit.cli import cli
args = ["agent", "collect", "--key", sys.argv[2], "--out", sys.argv[1]]
result = CliRunner().invoke(cli, args)
assert result.exit_code == 0, result.output
top = {{m.split(".")[0] for m in sys.modules}}
print(" ".join(sorted(top & set(HEAVY))))
print(" ".join(sorted(top & {{"psutil", "cryptography"}})))
"""


def test_agent_collect_imports_no_reporting_stack(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(tmp_path / "r.json"), str(tmp_path / "k.pem")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    heavy, own = proc.stdout.split("\n")[:2]
    assert heavy == ""
    assert own == "cryptography psutil"  # processes and interfaces; the signature
    assert (tmp_path / "r.json").stat().st_size > 1000
