"""Shared data for the readiness tests (imported by basename, like tests/scan/labdata.py)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

# The demo's planted readiness blockers are for this morning (defects.yaml).
DEMO_NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

CLEAN_TODAY = DEMO_NOW.date()
# A roster that covers the next holiday (24/11/2026) around the clock, with phones.
COMPLETE_ROSTER = """\
title: Lịch trực đầy đủ (kiểm thử)
duty:
  2026-11-23:
    - {member: m09, from: "19:00", to: "07:00"}
  2026-11-24:
    - {member: m02, from: "07:00", to: "19:00"}
    - {name: Lê Văn Bình, title: Bảo vệ, phone: "0912 345 678", from: "19:00", to: "07:00"}
"""


def build_clean_workspace(root):
    """A clean sample organisation: the sample register and profiles without the
    expired waiver, clean agent reports only, a fresh LAN scan with nothing unknown,
    valid attestations (and every server's backup verified yesterday), a check run,
    and a complete duty roster for the next holiday. Returns the Workspace."""
    import re
    from datetime import timedelta

    from itaudit.check.attestations import record_attestation
    from itaudit.check.runs import run_check
    from itaudit.demo.generate import generate
    from itaudit.demo.lan import simulate_scans
    from itaudit.ingest import ingest_paths
    from itaudit.org import load_organisation
    from itaudit.org.matching import RegisterIndex
    from itaudit.profiles import load_profiles
    from itaudit.store import open_store
    from itaudit.workspace import Workspace, init_workspace

    init_workspace(root)
    ws = Workspace(root)
    btxh2 = ws.profiles / "units" / "btxh2.yaml"
    text = btxh2.read_text(encoding="utf-8")
    btxh2.write_text(re.sub(r"(?ms)^waivers:.*\Z", "waivers: []\n", text), encoding="utf-8")
    (ws.inventory / "duty-roster.yaml").write_text(COMPLETE_ROSTER, encoding="utf-8")
    org = load_organisation(ws.inventory)
    profiles = load_profiles(ws.profiles, ws.inventory)
    store = open_store(ws.default_store_url)
    try:
        folder = ws.reports / "clean-agent-reports"
        folder.mkdir(parents=True)
        for name, doc in generate(org, now=DEMO_NOW, defects=[]):
            import json

            (folder / name).write_text(json.dumps(doc), encoding="utf-8")
        ingest_paths(store, RegisterIndex(org), [str(folder)])
        simulate_scans(store, org, ws.profiles, [])
        yesterday = CLEAN_TODAY - timedelta(days=1)
        for unit in org.units:
            for rule in ("L1-MGT-01", "L1-MGT-02", "L1-MGT-03", "L1-MGT-04", "L1-MGT-06"):
                record_attestation(
                    store, rule, reference="QĐ 1/QĐ (test)", evidence_date=yesterday, unit=unit.id
                )
        for asset in org.assets:
            if asset.type == "server":
                record_attestation(
                    store,
                    "L1-MGT-08",
                    reference="backup log (test)",
                    evidence_date=yesterday,
                    hostname=asset.hostname,
                    asset_tag=asset.tag,
                )
        run_check(store, org, profiles, now=DEMO_NOW)
    finally:
        store.close()
    return ws


@contextlib.contextmanager
def module_store_url(kind: str, folder) -> Iterator[str]:
    """A store URL that lives as long as a module-scoped fixture: a SQLite file in
    `folder`, or a fresh PostgreSQL database (dropped after) when kind is "postgresql".
    The shared `store_url` fixture is per test; running the whole demo once per
    module and back end, not once per test, keeps these tests quick."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
        return
    import pytest
    import sqlalchemy as sa

    admin = os.environ.get("ITAUDIT_TEST_PG_URL")
    if not admin:
        pytest.skip("ITAUDIT_TEST_PG_URL is not set: no PostgreSQL server for this run")
    name = f"itaudit_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
