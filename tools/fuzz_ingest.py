#!/usr/bin/env python3
"""A larger run of the ingest fuzz harness (tests/fuzzing.py): prints counts.

    python tools/fuzz_ingest.py [--examples 20000] [--store URL]

Every hostile report goes through the one validator and the ingest library;
the run counts outcomes by status and reason, and every uncaught exception
(which must stay 0) with its type. The store's integrity is checked at the end.
The suite runs the same harness capped (tests/ingest/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import re
import sys
import tempfile
import time
import traceback
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fuzzing import hostile_reports  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from itaudit.demo.generate import generate  # noqa: E402
from itaudit.ingest import Ingestor, Source  # noqa: E402
from itaudit.org import load_organisation  # noqa: E402
from itaudit.org.matching import RegisterIndex  # noqa: E402
from itaudit.schema import validate_report  # noqa: E402
from itaudit.store import open_store  # noqa: E402
from itaudit.workspace import sample_root  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20000)
    parser.add_argument("--store", help="store URL (default: a new SQLite file)")
    args = parser.parse_args()
    org = load_organisation(sample_root() / "inventory")
    template = next(doc for name, doc in generate(org) if name == "HO-PC-001.json")
    url = args.store or f"sqlite:///{tempfile.mkdtemp()}/fuzz.db"
    store = open_store(url)
    ingestor = Ingestor(store, RegisterIndex(None))
    outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
    crashes: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()

    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_reports(template))
    def one(case: tuple[str, bytes]) -> None:
        name, data = case
        try:
            import json

            with contextlib.suppress(ValueError, RecursionError):
                validate_report(json.loads(data))
            outcome = ingestor.run([Source(name, partial(io.BytesIO, data), len(data))]).outcomes[0]
            reason = re.sub(r"['\"0-9].*", "", outcome.reason)[:50]
            outcomes[(outcome.status, reason)] += 1
        except Exception as exc:  # the count that must stay 0
            crashes[
                f"{type(exc).__name__}: {traceback.format_exc(limit=1).splitlines()[-1][:120]}"
            ] += 1

    one()
    problems = store.integrity_check()
    store.close()
    total = sum(outcomes.values()) + sum(crashes.values())
    print(
        f"store: {url.split('://')[0]}; cases tried: {total} in {time.perf_counter() - started:.1f} s"
    )
    for (status, reason), n in outcomes.most_common():
        print(f"  {n:7d}  {status:9s} {reason}")
    print(f"uncaught exceptions: {sum(crashes.values())}")
    for what, n in crashes.most_common():
        print(f"  {n:7d}  {what}")
    print(f"store integrity problems: {len(problems)}")
    return 1 if crashes or problems else 0


if __name__ == "__main__":
    sys.exit(main())
