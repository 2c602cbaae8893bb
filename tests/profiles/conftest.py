"""Helpers to write small profile folders for loader tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

BASE = """\
profile: base
title: {vi: Cơ sở, en: Base}
rules:
  - id: T-LOCK-01
    title: {vi: Khóa màn hình, en: Screen lock}
    remediation: {vi: Bật khóa màn hình, en: Turn screen lock on}
    severity: medium
    params:
      max_seconds: {type: integer, default: 900, min: 60, max: 3600}
    condition:
      fact: security.screen_lock.timeout_seconds
      le: {param: max_seconds}
  - id: T-SMB-01
    title: {vi: Tắt SMBv1, en: SMBv1 off}
    remediation: {vi: Tắt SMBv1, en: Turn SMBv1 off}
    severity: high
    condition:
      fact: security.smb1.server_enabled
      equals: false
"""


@pytest.fixture
def profile_dir(tmp_path: Path):
    """write(name, text, folder='') -> path; returns the profiles root."""
    root = tmp_path / "profiles"
    root.mkdir()

    def write(name: str, text: str, folder: str = "") -> Path:
        target = root / folder / f"{name}.yaml" if folder else root / f"{name}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
        return target

    write.root = root  # type: ignore[attr-defined]
    write.base = BASE  # type: ignore[attr-defined]  # a valid two-rule base profile
    return write
