"""A store written before scans recorded coverage (migrations up to scan.002) is
opened by this version: its scans read as their own observations, with their
method taken from root or not, and the next scan builds on them."""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime

import sqlalchemy as sa

from itaudit.scan.coverage import Coverage, carry
from itaudit.scan.records import Observation, latest_sightings
from itaudit.scan.results import previous_state
from itaudit.store import open_store
from itaudit.store.migrations import all_migrations

SCANNED = datetime(2026, 11, 30, 8, 0)


def _previous_release_store(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "CREATE TABLE schema_migrations (id VARCHAR(128) PRIMARY KEY, "
                    "applied_at TIMESTAMP NOT NULL)"
                )
            )
        for migration in all_migrations():
            if migration.id == "scan.003_coverage":
                break
            with engine.begin() as conn:
                migration.apply(conn)
                conn.execute(
                    sa.text("INSERT INTO schema_migrations (id, applied_at) VALUES (:i, :a)"),
                    {"i": migration.id, "a": SCANNED},
                )
        with engine.begin() as conn:
            options = {"privileged": True, "ports": [445], "scan_type": "syn"}
            conn.execute(
                sa.text(
                    "INSERT INTO scans (unit, targets, target_key, options, started_at, "
                    "finished_at, status, addresses, hosts_up) VALUES ('ho', :t, :k, :o, "
                    ":s, :s, 'complete', 256, 1)"
                ),
                {
                    "t": '["10.38.16.0/24"]',
                    "k": "10.38.16.0/24",
                    "o": json.dumps(options),
                    "s": SCANNED,
                },
            )
            conn.execute(
                sa.text(
                    "INSERT INTO scan_observations (scan_id, address, mac, hostnames, open_ports, "
                    "state, bucket, asset_tag) VALUES (1, '10.38.16.11', '00:14:22:1a:00:11', "
                    "'[]', '[{\"port\": 445}]', 'up', 'forbidden', 'HO-PC-071')"
                )
            )
    finally:
        engine.dispose()


def test_scans_stored_before_are_the_state_the_next_scan_builds_on(store_url):
    _previous_release_store(store_url)
    store = open_store(store_url)
    try:
        assert "scan.003_coverage" in store.applied_migrations()
        (sighting,) = latest_sightings(store, "ho")
        assert (sighting.seen_at, sighting.seen_scan_id) == (SCANNED, 1)
        assert sighting.where == "10.38.16.11 MAC 00:14:22:1a:00:11 2026-11-30 08:00 UTC scan #1"
        state = previous_state(store, "ho")
    finally:
        store.close()
    assert state is not None and state.coverage == (("10.38.16.0/24", SCANNED),)
    (o,) = state.observations
    assert (o.method, o.seen_scan_id, o.bucket) == ("raw", 1, "forbidden")  # root: raw
    spot = Coverage((ipaddress.ip_network("10.38.16.60/32"),), "raw")
    merged = carry(state.observations, [Observation("10.38.16.60")], spot, datetime(2026, 12, 1))
    assert o in merged.observations  # a spot scan never erases it
    weaker = Coverage((ipaddress.ip_network("10.38.16.0/24"),), "connect")
    assert o in carry(state.observations, [], weaker, datetime(2026, 12, 1)).observations
