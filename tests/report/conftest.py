"""A demo department run once per module: register, reports, simulated scans, check,
and the report files written from it (SQLite). Hostile strings are planted in the
register and in a rule's text before the check, so every report carries them."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from itaudit.demo.run import run_demo
from itaudit.org import load_organisation
from itaudit.store import open_store
from itaudit.workspace import Workspace, init_workspace

HOSTILE_PERSON = '<script>alert("x")</script>' + "W" * 10_000
FORMULA_PERSON = '=HYPERLINK("http://example.invalid","click")'
HOSTILE_TITLE = "<img src=x onerror=alert(1)> \"quoted\" 'single' & more"


@dataclass
class Demo:
    workspace: Workspace
    url: str
    reports: Path  # reports/<date>/


def _plant(root: Path) -> None:
    """Hostile text in the register (assigned_to) and in one rule's Vietnamese title."""
    path = root / "inventory" / "assets.csv"
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if row["asset_tag"] == "HO-PC-012":
            row["assigned_to"] = HOSTILE_PERSON
        if row["asset_tag"] == "HO-PC-020":
            row["assigned_to"] = FORMULA_PERSON
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    level1 = root / "profiles" / "level1.yaml"
    yaml_text = level1.read_text(encoding="utf-8")
    marker = "vi: Màn hình tự khóa khi không sử dụng"
    assert marker in yaml_text
    level1.write_text(
        yaml_text.replace(marker, "vi: " + repr(HOSTILE_TITLE).replace("\\'", "''"), 1),
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("report") / "ws"
    init_workspace(root)
    _plant(root)
    ws = Workspace(root)
    store = open_store(ws.store_url())
    try:
        run = run_demo(ws, store, lambda _text: None)
    finally:
        store.close()
    folder = run.outputs[0][1].parent
    return Demo(ws, ws.store_url(), folder)


@pytest.fixture(scope="module")
def demo_org(demo: Demo):
    return load_organisation(demo.workspace.inventory)


@pytest.fixture
def hostile() -> dict[str, str]:
    return {"person": HOSTILE_PERSON, "formula": FORMULA_PERSON, "title": HOSTILE_TITLE}
