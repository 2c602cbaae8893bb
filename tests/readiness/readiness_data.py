"""Shared data for the readiness tests (imported by basename, like tests/scan/labdata.py)."""

from __future__ import annotations

from datetime import UTC, datetime

# The demo's planted readiness blockers are for this morning (defects.yaml).
DEMO_NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
