"""Fixtures for readiness tests: the demo department checked at a fixed time."""

from __future__ import annotations

import pytest
from readiness_data import DEMO_NOW

from itaudit.demo.run import run_demo
from itaudit.store import open_store
from itaudit.workspace import Workspace, init_workspace


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory) -> Workspace:
    """The whole demo (SQLite) run once per module at DEMO_NOW; its workspace."""
    root = tmp_path_factory.mktemp("readiness-demo") / "ws"
    ws = Workspace(root)
    init_workspace(root)
    store = open_store(ws.default_store_url)
    try:
        run_demo(ws, store, lambda _text: None, now=DEMO_NOW)
    finally:
        store.close()
    return ws
