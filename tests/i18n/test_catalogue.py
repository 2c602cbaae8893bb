"""The message catalogues: every key in every language, placeholders alike."""

from __future__ import annotations

import re
from datetime import date

import pytest

from itaudit.i18n import LANGS, catalogue, format_date, format_percent, t


def test_every_key_has_every_translation():
    keys = {lang: set(catalogue(lang)) for lang in LANGS}
    for lang in LANGS:
        for other in LANGS:
            missing = sorted(keys[other] - keys[lang])
            assert not missing, f"{lang}.yaml lacks {missing}"


def test_placeholders_agree_across_languages():
    pattern = re.compile(r"\{(\w+)[^}]*\}")
    for key, text in catalogue("vi").items():
        assert set(pattern.findall(text)) == set(pattern.findall(catalogue("en")[key])), key


def test_no_empty_message():
    for lang in LANGS:
        assert all(text.strip() for text in catalogue(lang).values()), lang


def test_unknown_key_raises():
    with pytest.raises(KeyError):
        t("no.such.key", "vi")


def test_formats():
    assert format_date(date(2026, 2, 14), "vi") == "14/02/2026"
    assert format_date(date(2026, 2, 14), "en") == "2026-02-14"
    assert format_percent(80 / 74 * 100, "vi") == "108,1 %"
    assert format_percent(80 / 74 * 100, "en") == "108.1 %"
    assert t("holidays.header.from", "vi") == "Từ"
