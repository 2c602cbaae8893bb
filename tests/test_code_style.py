"""The house style holds in CI, not only on a developer's machine: ruff (lint and
format) over the tree and mypy over the package, for Linux and for Windows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TREES = ["itaudit", "tests", "benchmarks", "tools"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", *TREES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_leaves_every_file_as_it_is() -> None:
    result = _run("ruff", "format", "--check", *TREES)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_finds_no_type_error_in_the_package() -> None:
    result = _run("mypy", "--cache-dir", str(REPO / ".mypy_cache"), "itaudit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


@pytest.mark.slow
def test_mypy_for_windows_finds_no_posix_only_call() -> None:
    """The officer's side runs on Windows: typeshed's win32 stubs flag POSIX-only calls
    (os.geteuid, signal.SIGHUP, fcntl, pwd, ...) used without an `if sys.platform ==
    "win32":` branch. Its own cache: the platform changes what every module means."""
    cache = REPO / ".mypy_cache" / "win32"
    result = _run("mypy", "--platform", "win32", "--cache-dir", str(cache), "itaudit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
