"""How long a test waits for something it started, on a machine that may be loaded.

Every wait of the suite is a bound, never a measurement: on an idle machine the
thing finishes long before it. On a heavily loaded one (CI at load 15), set
ITAUDIT_TEST_TIMEOUT_SCALE (e.g. 3) to multiply every bound instead of failing.
"""

from __future__ import annotations

import os

SCALE = max(1.0, float(os.environ.get("ITAUDIT_TEST_TIMEOUT_SCALE", "1") or 1))


def scaled(seconds: float) -> float:
    return seconds * SCALE
