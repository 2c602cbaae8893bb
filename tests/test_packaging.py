"""The wheel carries the sample: `pip install .` then `itaudit demo` works from any folder."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """itaudit's wheel and every dependency's, made once for the run: the installed
    test below then needs nothing from this environment nor from the network."""
    out = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


@pytest.fixture(scope="module")
def wheel(wheelhouse) -> Path:
    return next(wheelhouse.glob("itaudit-*.whl"))


def test_wheel_ships_the_sample_without_workspace_state(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "itaudit/_sample/inventory/organization.yaml" in names
    assert "itaudit/_sample/inventory/assets.csv" in names
    assert "itaudit/schema/host-report-1.json" in names
    assert "itaudit/demo/defects.yaml" in names
    assert not [n for n in names if n.endswith((".db", ".db-wal", ".pem"))]


@pytest.mark.slow
def test_installed_wheel_runs_the_demo_elsewhere(wheelhouse, tmp_path):
    env_dir = tmp_path / "venv"
    # A fully isolated environment: no site-packages of this interpreter, nothing
    # from an index; every dependency comes from the wheelhouse, so a dependency
    # missing from pyproject.toml fails here as it would on a user's machine.
    venv.EnvBuilder(system_site_packages=False, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "itaudit",
        ],
        check=True,
        timeout=300,
    )
    where = subprocess.run(
        [str(python), "-c", "import itaudit; print(itaudit.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert str(env_dir) in where.stdout
    result = subprocess.run(
        [str(env_dir / "bin" / "itaudit"), "demo"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "314 accepted" in result.stdout
    assert (tmp_path / "inventory" / "organization.yaml").exists()
