"""The software catalogue (itaudit/agent/software-catalog.yaml): valid, and matched exactly."""

from __future__ import annotations

import pytest

from itaudit.agent.software_catalog import SoftwareCatalogError, bundled, flag, parse_catalog


def _ids(hits):
    return [(h["catalog_id"], h["name"]) for h in hits]


def test_the_bundled_catalogue_is_valid_and_has_each_category():
    assert {e.category for e in bundled()} == {"unsupported", "remote-access", "crack"}


def test_winrar_is_flagged_below_the_fixed_version_only():
    software = [
        {"name": "WinRAR 6.24 (64-bit)", "version": "6.24.0"},
        {"name": "WinRAR 7.13 (64-bit)", "version": "7.13.0"},
    ]
    assert _ids(flag(bundled(), software, [])) == [("winrar-before-7.13", "WinRAR 6.24 (64-bit)")]


def test_names_match_from_the_start_and_services_exactly():
    software = [
        {"name": "Microsoft Office Professional Plus 2016", "version": "16.0.4266.1001"},
        {"name": "Microsoft Office LTSC Standard 2024 - vi-vn", "version": "16.0.17932.20328"},
        {"name": "Notes on Microsoft Office 2016", "version": "1.0"},
    ]
    services = [{"name": "KMSELDI"}, {"name": "KMSELDI-helper"}, {"name": "TeamViewer"}]
    assert _ids(flag(bundled(), software, services)) == [
        ("office-2016", "Microsoft Office Professional Plus 2016"),
        ("teamviewer", "TeamViewer"),
        ("kms-activator", "KMSELDI"),
    ]


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ({"id": "x", "title": "X", "category": "nope", "names": ["X"], "source": "s"}, "category"),
        ({"id": "x", "title": "X", "category": "crack", "names": ["("], "source": "s"}, "names"),
        (
            {"id": "x", "title": "X", "category": "unsupported", "names": ["X"], "source": "s"},
            "end_of_support",
        ),
        ({"id": "x", "title": "X", "category": "crack", "source": "s"}, "needs names or services"),
        (
            {
                "id": "x",
                "title": "X",
                "category": "crack",
                "names": ["X"],
                "source": "s",
                "typo": 1,
            },
            "unknown field",
        ),
    ],
)
def test_a_bad_entry_is_refused_with_its_place(entry, needle):
    with pytest.raises(SoftwareCatalogError, match="entries\\[0\\]") as err:
        parse_catalog({"format": "itaudit-software-catalog/1", "entries": [entry]})
    assert needle in str(err.value)
