"""Shared helpers of the agent tests."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def catalog():
    from itaudit.agent.catalog import load_catalog

    return load_catalog()


@pytest.fixture(scope="session")
def parsed(catalog):
    """parsed(case) -> the report parsed from tests/agent/fixtures/<case>/bundle (cached)."""
    from itaudit.agent.collect import parse_bundle

    cache: dict[str, dict] = {}

    def get(case: str) -> dict:
        if case not in cache:
            cache[case] = parse_bundle(FIXTURES / case / "bundle", catalog, collector="fixture")
        return cache[case]

    return get
