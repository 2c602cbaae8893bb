"""Fixtures every test module shares.

- `workspace`: a fresh copy of the bundled sample department in a temp folder.
- `run_cli`: the real `itaudit` CLI in a subprocess (end-to-end paths).
- `store_url`: parametrised over SQLite (a real file) and PostgreSQL (a real
  server, a fresh database per test) when ITAUDIT_TEST_PG_URL is set; CI sets it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from timeouts import scaled

from itaudit.workspace import Workspace, init_workspace

REPO = Path(__file__).resolve().parent.parent
PG_ENV = "ITAUDIT_TEST_PG_URL"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    init_workspace(root)
    return Workspace(root)


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run_cli(tmp_path: Path):
    """Run `python -m itaudit ARGS` in a subprocess; returns CliResult."""

    def run(
        *args: str,
        cwd: Path | None = None,
        input: str | bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> CliResult:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
        full_env["PYTHONIOENCODING"] = "utf-8"
        full_env.update(env or {})
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "itaudit", *args],
            cwd=cwd or tmp_path,
            input=data,
            capture_output=True,
            env=full_env,
            timeout=scaled(timeout),
        )
        return CliResult(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    return run


def _pg_admin_url() -> str | None:
    return os.environ.get(PG_ENV)


def _new_pg_database(admin_url: str) -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"itaudit_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = sa.engine.make_url(admin_url).set(database=name)
    return url.render_as_string(hide_password=False), name


def _drop_pg_database(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the test server (skips without one)."""
    admin = _pg_admin_url()
    if not admin:
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server for this run")
    url, name = _new_pg_database(admin)
    try:
        yield url
    finally:
        _drop_pg_database(admin, name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL for each back end: every store test runs on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def sample_org():
    """The bundled sample register (read-only)."""
    from itaudit.org import load_organisation
    from itaudit.workspace import sample_root

    return load_organisation(sample_root() / "inventory")


@pytest.fixture(scope="session")
def demo_reports(sample_org) -> list[tuple[str, dict]]:
    """The demo generator's reports for the sample department, generated once."""
    from itaudit.demo.generate import generate

    return list(generate(sample_org))


@pytest.fixture
def make_report(demo_reports):
    """make_report(hostname=..., **overrides): a fresh, valid, unsigned report.

    Built from a clean demo workstation; `identity` keys may be overridden
    directly (hostname, serial, hardware_uuid, macs), other top-level keys too.
    """
    import copy

    template = next(doc for name, doc in demo_reports if name == "HO-PC-001.json")

    def make(hostname: str = "TEST-PC01", **overrides):
        doc = copy.deepcopy(template)
        doc.pop("signature", None)
        doc.pop("bundle_signature", None)  # a new machine: unsigned until a test signs it
        doc["report_id"] = str(uuid.uuid4())
        # A fresh machine unless the test says otherwise: new UUID, serial, MAC.
        rand = uuid.uuid4()
        doc["identity"].update(
            hostname=hostname,
            asset_tag=None,
            hardware_uuid=str(rand),
            serial=rand.hex[:10].upper(),
            macs=["00:1b:21:" + ":".join(rand.hex[i : i + 2] for i in (0, 2, 4))],
        )
        for key in ("serial", "hardware_uuid", "macs"):
            if key in overrides:
                doc["identity"][key] = overrides.pop(key)
        doc.update(overrides)
        return doc

    return make


@pytest.fixture
def unreadable():
    """unreadable(path) -> command prefix under which the CLI cannot read `path`.

    As root, file permissions do not bind: the CLI then runs in a user namespace
    (`unshare -r`) where `path` belongs to an unmapped user, so they do.
    """

    def make(path: Path) -> list[str]:
        if os.geteuid() != 0:
            path.chmod(0)
            return []
        if shutil.which("unshare") is None:
            pytest.skip("root without unshare: file permissions cannot be tested")
        os.chown(path, 54321, 54321)
        path.chmod(0)
        return ["unshare", "-r"]

    return make
