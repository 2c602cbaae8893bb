"""YAML loading that remembers where every value came from.

Profiles and the organisation register must report problems as file:line, so
mappings and sequences are loaded as `LineDict` / `LineList`, which keep the
line of each key or item. They behave as ordinary dicts and lists otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from itaudit.errors import InputError, Problem


class LineDict(dict):
    """A mapping that knows its own line and the line of each key."""

    line: int = 0
    lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LineList(list):
    """A sequence that knows its own line and the line of each item."""

    line: int = 0
    lines: list[int]

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    # PyYAML raises a bare ValueError for 2027-02-30: make it a located YAML error.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a valid date ({exc})", node.start_mark
        ) from exc


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class _TextDatesLoader(_LineLoader):
    """Keeps an impossible date (2027-02-30) as its text, for the caller to report
    at its field and line along with every other problem of the file."""


def _construct_timestamp_or_text(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return node.value


_TextDatesLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_or_text)

MAX_YAML_BYTES = 8 * 1024 * 1024


def load_yaml(path: Path, *, bad_dates_as_text: bool = False) -> Any:
    """Load one YAML file with line information; a syntax error becomes InputError.

    An impossible date is a YAML error too, unless `bad_dates_as_text`: then it
    stays a string, for a loader that checks its dates field by field.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(Problem(str(path), f"cannot read: {exc.strerror}")) from exc
    if size > MAX_YAML_BYTES:
        raise InputError(Problem(str(path), f"file is {size} bytes; the limit is {MAX_YAML_BYTES}"))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(Problem(str(path), f"not UTF-8 text ({exc.reason})")) from exc
    except OSError as exc:
        raise InputError(Problem(str(path), f"cannot read: {exc.strerror or exc}")) from exc
    return loads_yaml(text, str(path), bad_dates_as_text=bad_dates_as_text)


def loads_yaml(text: str, source: str, *, bad_dates_as_text: bool = False) -> Any:
    loader = _TextDatesLoader if bad_dates_as_text else _LineLoader
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError(Problem(source, f"invalid YAML: {exc.problem or exc}", line)) from exc
    except yaml.YAMLError as exc:
        raise InputError(Problem(source, f"invalid YAML: {exc}")) from exc
