"""The HostReport JSON Schema and the one validator every path uses.

The schema file `host-report-1.json` is the source of truth for the report
format; the agent, `itaudit ingest`, the checker's fact paths, the docs and the
tests all read it from here.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError

SCHEMA_ID = "itaudit/host-report/1"
SCHEMA_FILE = "host-report-1.json"
_MAX_MESSAGES = 50
_PREVIEW = 40

# Dates outside these years are refused before any arithmetic touches them
# (0001-01-01T00:00:00+01:00 overflows when turned into UTC). Wide enough for a
# BIOS or software date; collected_at has its own, narrower range.
YEAR_MIN, YEAR_MAX = 1900, 2200
COLLECTED_YEARS = (2000, 2100)
# A lone UTF-16 surrogate cannot be encoded (signing, the store, HTML) and NUL
# ends a string in PostgreSQL: neither belongs in any fact.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_BAD_CHARS = UNSTORABLE
_SUSPECT = re.compile(r"[\ud800-\udfff]|\\u0000")

_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    # A timestamp without an offset is ambiguous across time zones: refuse it.
    return parsed.tzinfo is not None and "T" in value and YEAR_MIN <= parsed.year <= YEAR_MAX


@_formats.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        return len(value) == 10 and YEAR_MIN <= date.fromisoformat(value).year <= YEAR_MAX
    return True


@_formats.checks("ip-address", raises=ValueError)
def _is_ip(value: object) -> bool:
    if isinstance(value, str):
        ipaddress.ip_address(value)
    return True


@cache
def load_schema() -> dict[str, Any]:
    """The HostReport schema as a dict (read once from the package)."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator() -> Draft7Validator:
    schema = load_schema()
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=_formats)


def _as_predicate(check: Any) -> Any:
    def predicate(value: object) -> bool:
        try:
            return bool(check(value))
        except ValueError:
            return False

    return predicate


@cache
def _fast_validator() -> Any:
    """The schema compiled to Python: ~20x faster, but it stops at the first error.

    Valid reports (the common case at ingest) pass here; an invalid one is
    re-validated by jsonschema to list every problem. Both use the same format
    checks, and a property test keeps them in agreement.
    """
    formats = {
        name: _as_predicate(_formats.checkers[name][0])
        for name in ("date-time", "date", "ip-address")
    }
    return fastjsonschema.compile(load_schema(), formats=formats)


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(report)"


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 3] + "..."


def _message(error: ValidationError) -> str:
    """A short message that never echoes a long untrusted value in full."""
    kind, bound, value = error.validator, error.validator_value, error.instance
    if kind == "type":
        wanted = bound if isinstance(bound, str) else " or ".join(bound)
        return f"expected {wanted}, got {_json_type(value)}"
    if kind == "maxLength":
        return f"longer than {bound} characters ({len(value)})"
    if kind == "minLength":
        return f"shorter than {bound} character(s)"
    if kind == "maxItems":
        return f"more than {bound} items ({len(value)})"
    if kind == "pattern":
        return f"{_preview(value)} is not allowed here (must match {bound})"
    if kind == "format":
        return f"{_preview(value)} is not a valid {bound}"
    if kind == "const":
        return f"must be {bound!r}, got {_preview(value)}"
    if kind == "enum":
        return f"{_preview(value)} is not one of {', '.join(map(repr, bound))}"
    if kind in ("minimum", "maximum"):
        return f"{_preview(value)} is out of range ({kind} {bound})"
    if kind == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        names = ", ".join(_preview(k) for k in extra[:5])
        return f"unexpected field(s): {names}" + (" ..." if len(extra) > 5 else "")
    if kind == "required":
        return error.message
    msg = error.message
    return msg if len(msg) <= 200 else msg[:197] + "..."


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _bad_strings(node: Any, path: str, out: list[str]) -> None:
    """Strings (keys too) holding NUL or a lone surrogate, named by their field path."""
    if isinstance(node, str):
        m = _BAD_CHARS.search(node)
        if m:
            what = "a NUL character" if m.group() == "\x00" else "a lone UTF-16 surrogate"
            out.append(f"{path or '(report)'}: holds {what} (at position {m.start()})")
    elif isinstance(node, dict):
        for k, v in node.items():
            sub = f"{path}.{k}" if path else str(k)
            if isinstance(k, str) and _BAD_CHARS.search(k):
                out.append(f"{path or '(report)'}: a field name holds a NUL or lone surrogate")
            _bad_strings(v, sub, out)
            if len(out) >= _MAX_MESSAGES:
                return
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _bad_strings(v, f"{path}[{i}]", out)
            if len(out) >= _MAX_MESSAGES:
                return


def _content_problems(document: dict[str, Any]) -> list[str]:
    """What JSON Schema cannot say: characters no store or signature can carry, and a
    collection time outside the years a report can have been made in."""
    out: list[str] = []
    # One pass over the serialised text finds nothing in the common case; only then
    # is the tree walked for the field paths. NUL is escaped by json.dumps, lone
    # surrogates stay raw with ensure_ascii=False.
    if _SUSPECT.search(json.dumps(document, ensure_ascii=False)):
        _bad_strings(document, "", out)
    at = document.get("collected_at")
    if isinstance(at, str):
        try:
            year = datetime.fromisoformat(at.replace("Z", "+00:00")).year
        except ValueError:
            year = None  # the format check names it
        lo, hi = COLLECTED_YEARS
        if year is not None and not lo <= year <= hi:
            out.append(f"collected_at: {_preview(at)} is outside the years {lo}-{hi}")
    return out


def validate_report(document: Any, *, compiled: bool = True) -> list[str]:
    """Every problem as `field.path: message`; an empty list means valid.

    The one validator of every entry (agent, `schema validate`, `agent parse`,
    `ingest`, `serve`): the JSON Schema, then what a schema cannot say (NUL and
    lone surrogates in any string, a collection year outside 2000-2100).
    compiled=False skips the compiled fast path: compiling it costs ~25 MB,
    worth it when ingesting thousands of reports, not for the agent's one.
    """
    if not isinstance(document, dict):
        return [f"(report): expected a JSON object, got {_json_type(document)}"]
    if document.get("schema") != SCHEMA_ID:
        # A report of another version would drown in irrelevant errors: say it once.
        return [f"schema: must be {SCHEMA_ID!r}, got {_preview(document.get('schema'))}"]
    content = _content_problems(document)
    if content:
        return content
    first = "(report): invalid"
    if compiled:
        try:
            _fast_validator()(document)
            return []
        except fastjsonschema.JsonSchemaValueException as exc:
            name = exc.name or "data"
            first = f"{name.removeprefix('data.') or '(report)'}: {exc.message.removeprefix(name + ' ')}"
    errors = sorted(
        _validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))
    )
    if not errors:
        return [first] if compiled else []
    messages = [f"{_path(e)}: {_message(e)}" for e in errors[:_MAX_MESSAGES]]
    if len(errors) > _MAX_MESSAGES:
        messages.append(f"... and {len(errors) - _MAX_MESSAGES} more problems")
    return messages


def is_valid(document: Any) -> bool:
    return not validate_report(document)


def iter_fact_paths(
    schema: dict[str, Any] | None = None, prefix: str = ""
) -> Iterator[tuple[str, dict]]:
    """Every fact path of the schema with its sub-schema, arrays written `name[]`.

    `security.antivirus[].enabled` names the `enabled` field of each antivirus
    entry. The checker uses this to reject a rule that reads a fact that does
    not exist; the docs generator uses it to list the facts.
    """
    node = load_schema() if schema is None else schema
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        yield path, sub
        yield from _walk(sub, path)


def _walk(sub: dict[str, Any], path: str) -> Iterator[tuple[str, dict]]:
    types = sub.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    if "object" in types:
        yield from iter_fact_paths(sub, path)
    if "array" in types:
        items = sub.get("items", {})
        yield path + "[]", items
        yield from _walk(items, path + "[]")


@cache
def fact_paths() -> dict[str, dict]:
    """All fact paths, for membership tests."""
    return dict(iter_fact_paths())
