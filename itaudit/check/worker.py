"""A check worker process: `python -m itaudit.check.worker` (started by run_check).

Reads (payload, id ranges) pickled on stdin from its parent, checks those
hosts, writes their results to the store, and answers its tallies pickled on
stdout. Only ever started by `itaudit.check.runs`, which trusts its own
children; it is not an entry point for anything else.
"""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    from itaudit.check.runs import work

    payload, ranges = pickle.loads(sys.stdin.buffer.read())
    result = work(payload, ranges)
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
