"""The fuzz harness (issue 12): hostile reports through the one validator and the
ingest library on both back ends, with zero uncaught exceptions.

Capped so it adds well under a minute; tools/fuzz_ingest.py runs many more and
prints the counts. Every report must come out accepted, duplicate or rejected
with a reason, the store must stay consistent, and one valid report ingested
after the storm must still be stored."""

from __future__ import annotations

import io
import json
from functools import partial

from fuzzing import hostile_reports
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itaudit.ingest import Ingestor, Source, decode_report
from itaudit.org.matching import RegisterIndex
from itaudit.schema import validate_report
from itaudit.store import open_store

EXAMPLES = 120


def _template(demo_reports):
    return next(doc for name, doc in demo_reports if name == "HO-PC-001.json")


def test_validator_never_raises(demo_reports):
    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None)
    @given(hostile_reports(_template(demo_reports)))
    def run(case):
        _name, data = case
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            return
        problems = validate_report(doc)
        assert isinstance(problems, list)
        assert all(isinstance(p, str) and len(p) < 600 for p in problems)

    run()


def test_ingest_never_raises_and_keeps_the_store_consistent(store_url, demo_reports, make_report):
    store = open_store(store_url)
    ingestor = Ingestor(store, RegisterIndex(None))
    seen: dict[str, int] = {}
    try:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(st.lists(hostile_reports(_template(demo_reports)), min_size=1, max_size=3))
        def run(cases):
            sources = [Source(n, partial(io.BytesIO, d), len(d)) for n, d in cases]
            summary = ingestor.run(sources)
            assert len(summary.outcomes) == len(cases)
            for o in summary.outcomes:
                assert o.status in ("accepted", "duplicate", "rejected"), o
                assert o.status != "rejected" or o.reason
                seen[o.status] = seen.get(o.status, 0) + 1

        run()
        assert store.integrity_check() == []
        good = make_report("AFTER-FUZZ")
        data = json.dumps(good).encode()
        after = ingestor.run([Source("good.json", partial(io.BytesIO, data), len(data))])
        assert [o.status for o in after.outcomes] == ["accepted"]
        assert decode_report(data)[0]["identity"]["hostname"] == "AFTER-FUZZ"
    finally:
        store.close()
    print("fuzz outcomes:", seen)
    assert seen.get("rejected", 0) > 0  # the harness does produce hostile input
