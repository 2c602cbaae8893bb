"""The inventory store on both back ends: migrations, history, current state, matching."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from itaudit.errors import StoreError, StoreURLError
from itaudit.ingest import ingest_documents
from itaudit.org.matching import RegisterIndex
from itaudit.signing import content_hash
from itaudit.store import open_store, utcnow
from itaudit.store import tables as t
from itaudit.store.migrations import all_migrations


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def _ingest(store, *docs, org=None):
    return ingest_documents(
        store, RegisterIndex(org), [(f"r{i}.json", d) for i, d in enumerate(docs)]
    )


def test_migrations_are_recorded_and_not_reapplied(store_url):
    first = open_store(store_url)
    assert first.applied_migrations() == sorted(m.id for m in all_migrations())
    first.close()
    second = open_store(store_url)
    assert second.migrate() == []
    second.close()


def test_migrated_store_matches_the_table_definitions(store):
    import itaudit.scan.tables  # noqa: F401 - registers its tables on the metadata

    inspector = sa.inspect(store.engine)
    for table in t.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    with s.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    s.close()


def test_report_is_stored_once_with_its_hash(store, make_report):
    doc = make_report("PC-A")
    first = _ingest(store, doc)
    again = _ingest(store, doc)
    assert (first.accepted, again.duplicates) == (1, 1)
    with store.read() as conn:
        rows = conn.execute(sa.select(t.reports.c.content_hash, t.reports.c.document)).all()
    assert len(rows) == 1
    assert rows[0][0] == content_hash(doc)
    assert json.loads(rows[0][1]) == doc


def test_latest_collected_report_is_current_and_older_one_is_history(store, make_report):
    now = datetime.now(UTC)
    new = make_report("PC-B", serial="SN-B-1", collected_at=_iso(now - timedelta(hours=1)))
    old = json.loads(json.dumps(new))
    old["report_id"] = "0f2c9a48-1c1f-4a53-9d7f-1d6a0b5a3f11"
    old["collected_at"] = _iso(now - timedelta(days=3))
    old["os"]["patch_revision"] = 1
    summary = _ingest(store, new, old)
    assert [o.current for o in summary.outcomes] == [True, False]
    assert "kept as history" in summary.outcomes[1].reason
    host = store.host("PC-B")
    assert store.latest_document(host.id)["collected_at"] == new["collected_at"]
    history = store.history(host.id)
    assert [h.is_current for h in history] == [True, False]


def test_current_reports_view_lists_latest_per_host(store, make_report):
    _ingest(store, make_report("PC-C1"), make_report("PC-C2"))
    with store.read() as conn:
        names = sorted(conn.exec_driver_sql("SELECT hostname FROM current_reports").scalars())
    assert names == ["PC-C1", "PC-C2"]


def test_same_uuid_is_same_machine_even_if_renamed(store, make_report):
    now = datetime.now(UTC)
    a = make_report(
        "OLD-NAME",
        hardware_uuid="4c4c4544-0042-3510-8052-b4c04f4e4b32",
        collected_at=_iso(now - timedelta(days=2)),
    )
    b = make_report(
        "NEW-NAME",
        hardware_uuid="4c4c4544-0042-3510-8052-b4c04f4e4b32",
        serial="OTHER",
        macs=[],
        collected_at=_iso(now - timedelta(hours=1)),
    )
    _ingest(store, a, b)
    hosts = store.hosts()
    assert [h.hostname for h in hosts] == ["NEW-NAME"]


def test_placeholder_serials_never_merge_two_machines(store, make_report):
    uuid_zero = "00000000-0000-0000-0000-000000000000"
    a = make_report(
        "SHOP-PC1",
        serial="To be filled by O.E.M.",
        hardware_uuid=uuid_zero,
        macs=["00:1b:21:00:00:01"],
    )
    b = make_report(
        "SHOP-PC2",
        serial="To be filled by O.E.M.",
        hardware_uuid=uuid_zero,
        macs=["00:1b:21:00:00:02"],
    )
    c = make_report(
        "SHOP-PC3", serial="Default string", hardware_uuid=uuid_zero, macs=["00:1b:21:00:00:03"]
    )
    _ingest(store, a, b, c)
    assert sorted(h.hostname for h in store.hosts()) == ["SHOP-PC1", "SHOP-PC2", "SHOP-PC3"]
    assert all(h.serial is None and h.hardware_uuid is None for h in store.hosts())


def test_reused_hostname_with_another_serial_is_a_new_machine(store, make_report):
    _ingest(store, make_report("KT-PC01", serial="SN-OLD"), make_report("KT-PC01", serial="SN-NEW"))
    assert len(store.hosts()) == 2


def test_same_mac_without_serial_is_same_machine(store, make_report):
    mac = ["00:1b:21:aa:bb:cc"]
    now = datetime.now(UTC)
    _ingest(
        store,
        make_report(
            "M1",
            serial=None,
            hardware_uuid=None,
            macs=mac,
            collected_at=_iso(now - timedelta(days=1)),
        ),
        make_report(
            "M1-RENAMED", serial=None, hardware_uuid=None, macs=mac, collected_at=_iso(now)
        ),
    )
    assert [h.hostname for h in store.hosts()] == ["M1-RENAMED"]


def test_hosts_are_matched_to_the_register(store, sample_org, demo_reports):
    docs = dict(demo_reports)
    by_serial = docs["HO-PC-001.json"]
    placeholder = docs["TCNKT-PC-009.json"]  # register serial is "To be filled by O.E.M."
    _ingest(store, by_serial, placeholder, org=sample_org)
    rows = {h.asset_tag: h for h in store.hosts()}
    assert rows["HO-PC-001"].match_method == "serial"
    assert rows["HO-PC-001"].unit == "ho" and rows["HO-PC-001"].unit_source == "register"
    assert rows["TCNKT-PC-009"].match_method == "mac"


def test_unregistered_host_gets_its_unit_from_the_agent_or_subnet(store, sample_org, make_report):
    hinted = make_report("STRAY-1", unit="btxh2")
    unhinted = make_report("STRAY-2", unit=None)
    unhinted["network"]["interfaces"][0]["addresses"] = [
        {"address": "10.38.20.77", "prefix_length": 24}
    ]
    _ingest(store, hinted, unhinted, org=sample_org)
    rows = {h.hostname: h for h in store.hosts()}
    assert (rows["STRAY-1"].unit, rows["STRAY-1"].unit_source, rows["STRAY-1"].asset_tag) == (
        "btxh2",
        "agent",
        None,
    )
    assert (rows["STRAY-2"].unit, rows["STRAY-2"].unit_source) == (
        sample_org.unit_for_address("10.38.20.77").id,
        "subnet",
    )


def test_host_lookup_by_name_tag_and_id(store, sample_org, demo_reports):
    _ingest(store, dict(demo_reports)["HO-PC-002.json"], org=sample_org)
    host = store.host("ho-pc002")
    assert host is not None and host.asset_tag == "HO-PC-002"
    assert store.host("HO-PC-002").id == host.id
    assert store.host(str(host.id)).hostname == "HO-PC002"
    assert store.host("NOPE") is None


def test_iter_latest_streams_documents_per_unit(store, sample_org, demo_reports):
    docs = dict(demo_reports)
    _ingest(store, docs["HO-PC-003.json"], docs["DVVL-PC-001.json"], org=sample_org)
    streamed = list(store.iter_latest(unit="dvvl"))
    assert [h.hostname for h, _ in streamed] == ["DVVL-PC001"]
    assert json.loads(streamed[0][1])["identity"]["hostname"] == "DVVL-PC001"


def test_integrity_check_of_a_healthy_store(store, make_report):
    _ingest(store, make_report("PC-I"))
    assert store.integrity_check() == []


def test_integrity_check_finds_a_dangling_current_report(store, make_report):
    _ingest(store, make_report("PC-J"))
    with store.write() as conn:
        conn.execute(t.hosts.update().values(latest_report_id=None))
    assert store.integrity_check() == ["1 host(s) without any report"]


def test_unreachable_postgresql_is_a_store_error():
    with pytest.raises(StoreError, match="cannot open"):
        open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_unknown_scheme_is_a_store_error():
    with pytest.raises(StoreError, match="unsupported store 'mysql'"):
        open_store("mysql://x@y/z")


def test_sqlite_needs_a_file():
    with pytest.raises(StoreError, match="needs a file"):
        open_store("sqlite://")


def test_wrong_url_is_a_usage_error_unreachable_server_an_environment_one(tmp_path, run_cli):
    """Exit 2 for a URL the officer mistyped, 3 for a server that is not there."""
    for url in ("not a url", "mysql://x@y/z", "sqlite://"):
        result = run_cli("--store", url, "hosts")
        assert result.returncode == 2, (url, result.output)
        assert result.stderr.startswith("Error: "), result.stderr
        assert "Traceback" not in result.stderr
    with pytest.raises(StoreURLError):
        open_store("mysql://x@y/z")
    down = run_cli("--store", "postgresql://nobody@127.0.0.1:1/x?connect_timeout=2", "hosts")
    assert down.returncode == 3 and "Connection refused" in down.stderr


def test_a_file_that_is_not_a_store_gets_one_clear_line(tmp_path):
    (tmp_path / "notes.db").write_text("minutes of the meeting\n" * 100)
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{tmp_path / 'notes.db'}")
    assert str(info.value) == (
        f"cannot open sqlite:///{tmp_path / 'notes.db'}: file is not a database"
    )


def test_sqlite_store_in_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(StoreError, match=r"the folder .*/nowhere does not exist"):
        open_store(f"sqlite:///{tmp_path / 'nowhere' / 'itaudit.db'}")
    assert not (tmp_path / "nowhere").exists()


def test_store_of_a_newer_itaudit_is_refused(store_url):
    first = open_store(store_url)
    with first.write() as conn:
        conn.execute(t.schema_migrations.insert().values(id="core.999_future", applied_at=utcnow()))
    first.close()
    with pytest.raises(StoreError, match=r"created by a newer itaudit \(migration\(s\) core.999"):
        open_store(store_url)


@pytest.mark.postgres
def test_postgres_scheme_is_accepted_and_a_lost_server_is_a_store_error(pg_url, make_report):
    alias = pg_url.replace("postgresql://", "postgres://", 1)
    store = open_store(alias)
    try:
        assert store.url.startswith("postgresql://")
        _ingest(store, make_report("PG-ALIAS"))
        assert [h.hostname for h in store.hosts()] == ["PG-ALIAS"]
        # The database disappears under a running command (server restarted, dropped):
        admin = sa.create_engine(os.environ["ITAUDIT_TEST_PG_URL"], isolation_level="AUTOCOMMIT")
        name = sa.engine.make_url(pg_url).database
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
        with pytest.raises(StoreError, match=f'database "{name}" does not exist'):
            store.hosts()
    finally:
        store.close()


def test_same_job_name_placeholder_serials_different_macs_are_two_machines(store, make_report):
    placeholder = {"serial": "To be filled by O.E.M.", "hardware_uuid": None}
    first = make_report("KETOAN", macs=["00:1b:21:00:10:01"], **placeholder)
    second = make_report("KETOAN", macs=["00:1b:21:00:10:02"], **placeholder)
    _ingest(store, first, second)
    hosts = store.hosts()
    assert len(hosts) == 2
    assert store.integrity_check() == []


def test_default_host_names_never_merge_but_can_be_looked_up(store, make_report):
    a = make_report("localhost", serial=None, hardware_uuid=None, macs=[])
    b = make_report("localhost", serial=None, hardware_uuid=None, macs=[])
    _ingest(store, a, b)
    assert [h.hostname for h in store.hosts()] == ["localhost", "localhost"]
    assert store.host("localhost") is not None
