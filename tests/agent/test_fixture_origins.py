"""Where the Windows fixtures' values come from, and how many come from real machines.

Each tests/agent/fixtures/win*/ folder has an origin.yaml: `recorded` (a full
recording of a real machine), `from-public-sample` (the decisive files hold
values from real machines' published output, cited in the README) or
`reconstructed`. The counts go to the test report (`record_property`, and
printed with -s); at least half of the Windows fixtures must come from real
machines.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ORIGINS = ("recorded", "from-public-sample", "reconstructed")
WINDOWS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name.startswith("win"))


def _origin(case: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / case / "origin.yaml").read_text(encoding="utf-8"))


def _sources(case: str) -> dict[str, Any]:
    manifest = json.loads(
        (FIXTURES / case / "bundle" / "manifest.json").read_text(encoding="utf-8")
    )
    return manifest["sources"]


def test_there_are_windows_fixtures():
    assert len(WINDOWS) >= 10


@pytest.mark.parametrize("case", WINDOWS)
def test_each_windows_fixture_says_where_its_values_come_from(case):
    origin = _origin(case)
    assert origin["origin"] in ORIGINS
    assert isinstance(origin.get("note"), str) and origin["note"].strip()
    files, cited = origin.get("public_sample_files") or [], origin.get("sources") or []
    if origin["origin"] == "reconstructed":
        # A reconstruction claims no real sample; a citation here would contradict the mark.
        assert files == [] and cited == []
        return
    assert cited and all(isinstance(s, str) and s.strip() for s in cited)
    assert files, "a fixture from real samples names the files that hold them"
    sources = _sources(case)
    assert [f for f in files if f not in sources] == [], "public_sample_files not in the manifest"
    readme = (FIXTURES / case / "README.md").read_text(encoding="utf-8")
    assert f"`{origin['origin']}`" in readme, "the README states the origin too"


def test_at_least_half_of_the_windows_fixtures_come_from_real_machines(record_property):
    counts = Counter(_origin(case)["origin"] for case in WINDOWS)
    for origin in ORIGINS:
        record_property(f"windows_fixtures_{origin}", counts.get(origin, 0))
    print(
        "\nWindows fixtures by origin: "
        + ", ".join(f"{origin} {counts.get(origin, 0)}" for origin in ORIGINS)
        + f" (of {len(WINDOWS)})"
    )
    real = len(WINDOWS) - counts.get("reconstructed", 0)
    assert real * 2 >= len(WINDOWS), dict(counts)
