"""User-facing text in Vietnamese and English: one message catalogue per language.

Catalogues are YAML files beside this module (`vi.yaml`, `en.yaml`), nested
sections flattened to dotted keys (`holidays.header.from`). Every key must
exist in every language: a test fails otherwise, and `t()` raises on an
unknown key rather than showing a key name to a unit head.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGS = ("vi", "en")


def _flatten(node: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in node.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flatten(value, name))
        else:
            out[name] = str(value)
    return out


@cache
def catalogue(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: {', '.join(LANGS)}")
    text = resources.files(__package__).joinpath(f"{lang}.yaml").read_text(encoding="utf-8")
    return _flatten(yaml.safe_load(text) or {})


def t(key: str, lang: str = "vi", **params: Any) -> str:
    """The message `key` in `lang`, with `{name}` placeholders filled from params."""
    text = catalogue(lang)[key]
    return text.format(**params) if params else text


def format_date(day: date | datetime | None, lang: str = "vi") -> str:
    """dd/mm/yyyy in Vietnamese (as the department writes it), ISO 8601 in English."""
    if day is None:
        return "—"
    return day.strftime("%d/%m/%Y") if lang == "vi" else day.strftime("%Y-%m-%d")


def format_percent(value: float | None, lang: str = "vi", digits: int = 1) -> str:
    """108,1 % in Vietnamese (comma decimal), 108.1 % in English."""
    if value is None:
        return "—"
    text = f"{value:.{digits}f}"
    return (text.replace(".", ",") if lang == "vi" else text) + " %"
