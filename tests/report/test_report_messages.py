"""Every catalogue key the report templates and code name exists in both languages.

Keys are found as any quoted "report.…" literal in the sources (a `t()` call, a
`_tx()` helper, a conditional expression), and key families built at run time
("report.severity." ~ s, f"report.items.{item}") must be listed below with
every member they can take, so a new family cannot slip past the test.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from itaudit.i18n import LANGS, catalogue

PACKAGE = Path(resources.files("itaudit"))
LITERAL = re.compile(r"""["'](report\.[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])["']""")
# "report.severity." ~ s  /  "report.status." + s  /  f"report.items.{item}"
DYNAMIC = re.compile(
    r"""["'](report\.[A-Za-z0-9_.\-]*\.)["']\s*(?:~|\+)|f["'](report\.[A-Za-z0-9_.\-]*\.)\{"""
)

FAMILIES = {
    "report.severity.": ("critical", "high", "medium", "low"),
    "report.status.": ("pass", "fail", "error", "not-applicable", "waived"),
    "report.indicators.status.": ("dat", "chua_dat", "no_data", "not_applicable"),
    "report.indicators.periods.": ("Q1", "H1", "9M", "Y"),
    "report.indicators.": ("antivirus.title", "antivirus.result", "edr.title", "edr.result"),
    "report.waivers.states.": ("active", "expiring", "expired"),
    "report.attestations.states.": ("valid", "expiring", "expired", "future", "missing"),
    "report.lan.buckets.": ("managed", "registered", "unknown", "forbidden", "missing"),
    "report.items.": ("workstations", "servers"),
    "report.discrepancies.": ("unregistered", "never_reported"),
    "report.unknown_products.source.": ("securitycenter", "service", "process"),
}


def _sources() -> list[Path]:
    report = PACKAGE / "report"
    return [
        *report.glob("*.py"),
        *(report / "templates").glob("*.*"),
        PACKAGE / "ratios.py",
        PACKAGE / "cli" / "report_cmd.py",
        PACKAGE / "cli" / "ratios_cmd.py",
    ]


def _text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in _sources())


def test_every_literal_key_is_translated():
    used = set(LITERAL.findall(_text()))
    assert len(used) > 100
    assert "report.indicators.dossiers.title" in used  # keys passed to helpers count too
    for lang in LANGS:
        missing = sorted(k for k in used if k not in catalogue(lang))
        assert not missing, f"{lang}.yaml lacks {missing}"


def test_every_key_family_built_at_run_time_is_listed_and_complete():
    found = {a or b for a, b in DYNAMIC.findall(_text())}
    unlisted = sorted(found - set(FAMILIES))
    assert not unlisted, f"key families built at run time but not checked here: {unlisted}"
    for lang in LANGS:
        for prefix, names in FAMILIES.items():
            for name in names:
                assert prefix + name in catalogue(lang), (lang, prefix + name)


def test_the_scan_finds_a_missing_key(tmp_path):
    """The check itself can fail: a template naming an unknown key is caught."""
    template = tmp_path / "x.html"
    template.write_text('{{ t("report.no.such.key") }}', encoding="utf-8")
    used = set(LITERAL.findall(template.read_text(encoding="utf-8")))
    assert used == {"report.no.such.key"}
    assert all(k not in catalogue(lang) for k in used for lang in LANGS)
