"""A store written before evaluation methods were recorded keeps its runs' meaning.

The store is built as the previous release left it (every migration up to
`check.001_initial`, one complete check run), then opened by this version: the
run is read as method 1 (a probe reported unsupported made rules
not-applicable), a new run records the current method, and the comparison of
the two says the method changed.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from itaudit.check.engine import METHOD
from itaudit.check.results import latest_run, load_run
from itaudit.report.figures import Change
from itaudit.store import open_store
from itaudit.store.migrations import all_migrations


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
            if migration.id == "check.002_method":
                break
            with engine.begin() as conn:
                migration.apply(conn)
                conn.execute(
                    sa.text("INSERT INTO schema_migrations (id, applied_at) VALUES (:i, :a)"),
                    {"i": migration.id, "a": datetime(2026, 11, 30)},
                )
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO check_runs (started_at, finished_at, checked_at, status, "
                    "itaudit_version, subjects, summary, rules) VALUES "
                    "(:t, :t, :t, 'complete', '0.1.0', 0, '{}', '{}')"
                ),
                {"t": datetime(2026, 11, 30, 8, 0)},
            )
    finally:
        engine.dispose()


def test_runs_from_before_are_method_1_and_new_runs_record_the_current_method(store_url):
    _previous_release_store(store_url)
    store = open_store(store_url)
    try:
        assert "check.002_method" in store.applied_migrations()
        old = latest_run(store)
        assert old is not None and old.method == 1
        with store.write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO check_runs (started_at, finished_at, checked_at, status, "
                    "itaudit_version, subjects, summary, rules, method) VALUES "
                    "(:t, :t, :t, 'complete', '0.2.0', 0, '{}', '{}', :m)"
                ),
                {"t": datetime(2026, 12, 4, 8, 0), "m": METHOD},
            )
        new = latest_run(store)
        assert new is not None and new.id != old.id and new.method == METHOD == 2
        assert load_run(store, old.id).method == 1
    finally:
        store.close()
    change = Change(old.id, old.checked_at, 10, 9, 0, 3, old.method, new.method)
    assert change.method_changed and change.as_dict()["method_changed"] is True
    same = Change(new.id, new.checked_at, 10, 9, 0, 3, new.method, new.method)
    assert not same.method_changed
