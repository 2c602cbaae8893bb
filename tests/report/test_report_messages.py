"""Every catalogue key the report templates and code name exists in both languages."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from itaudit.i18n import LANGS, catalogue

PACKAGE = Path(resources.files("itaudit")) / "report"
LITERAL = re.compile(r"""\bt\(\s*["'](report\.[a-z0-9_.\-]+)["']""")
DYNAMIC = re.compile(r"""\bt\(\s*["'](report\.[a-z0-9_.\-]+\.)["']\s*(?:~|\+)""")


def _sources() -> list[Path]:
    return [
        *PACKAGE.glob("*.py"),
        *(PACKAGE / "templates").glob("*.*"),
        PACKAGE.parent / "cli" / "report_cmd.py",
        PACKAGE.parent / "cli" / "ratios_cmd.py",
    ]


def test_every_literal_key_is_translated():
    used = {m for p in _sources() for m in LITERAL.findall(p.read_text(encoding="utf-8"))}
    assert len(used) > 50
    for lang in LANGS:
        missing = sorted(k for k in used if not k.endswith(".") and k not in catalogue(lang))
        assert not missing, f"{lang}.yaml lacks {missing}"


def test_every_key_family_built_at_run_time_is_complete():
    prefixes = {m for p in _sources() for m in DYNAMIC.findall(p.read_text(encoding="utf-8"))}
    assert "report.severity." in prefixes and "report.status." in prefixes
    expected = {
        "report.severity.": ("critical", "high", "medium", "low"),
        "report.status.": ("pass", "fail", "error", "not-applicable", "waived"),
        "report.indicators.status.": ("dat", "chua_dat", "no_data", "not_applicable"),
        "report.indicators.periods.": ("Q1", "H1", "9M", "Y"),
        "report.waivers.states.": ("active", "expiring", "expired"),
        "report.attestations.states.": ("valid", "expiring", "expired", "future", "missing"),
        "report.lan.buckets.": ("managed", "registered", "unknown", "forbidden", "missing"),
    }
    for lang in LANGS:
        for prefix, names in expected.items():
            for name in names:
                assert prefix + name in catalogue(lang), (lang, prefix + name)
