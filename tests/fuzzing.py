"""Hostile HostReports for the fuzz harness (imported by basename, like labdata.py).

`hostile_reports(template)` is a hypothesis strategy of (name, bytes): a valid
report mutated at a random place (wrong types, unicode edge cases with lone
surrogates and NUL, huge and negative numbers, extreme dates, deep nesting,
giant arrays, unknown fields, deleted fields) or at the byte level (duplicate
keys, truncation, bit flips, NaN). tests/ingest/test_fuzz.py runs a capped
number through the one validator and the ingest library on both back ends;
tools/fuzz_ingest.py runs many more and prints the counts.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from hypothesis import strategies as st

EDGE_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "\ufeff",
    "\u202e" + "gnp.exe",
    "😀" * 3,
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x")',
    "' OR 1=1 --",
    "\x1b[31mred",
    "A" * 5000,
    "Nguyễn Văn Bình",
]
EDGE_NUMBERS = [0, -1, 2**31, 2**53 + 1, 2**63, 2**70, -(2**70), 1e308, -0.0, 3.5]
EDGE_DATES = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "1970-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-11-20T08:00:00",
    "2026-11-20",
    "not a date",
]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if len(prefix) > 12:  # inside a deep nest a mutation already made: no deeper
        return out
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _deep(depth: int) -> Any:
    node: Any = "bottom"
    for _ in range(depth):
        node = [node]
    return node


def _values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(EDGE_STRINGS),
        st.sampled_from(EDGE_NUMBERS),
        st.sampled_from(EDGE_DATES),
        st.none(),
        st.booleans(),
        st.text(max_size=30),
        st.integers(),
        st.just({}),
        st.just([]),
        st.builds(_deep, st.sampled_from([50, 500, 5000])),
        st.builds(lambda n: ["x"] * n, st.sampled_from([600, 20000])),
        st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
    )


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return doc


def _delete(doc: Any, path: tuple) -> Any:
    if not path:
        return doc
    node = doc
    for p in path[:-1]:
        node = node[p]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    elif isinstance(node, list) and node:
        node.pop(path[-1] if isinstance(path[-1], int) and path[-1] < len(node) else 0)
    return doc


@st.composite
def hostile_reports(draw: Any, template: dict[str, Any]) -> tuple[str, bytes]:
    doc = copy.deepcopy(template)
    doc.pop("signature", None)
    doc.pop("bundle_signature", None)
    doc["report_id"] = str(uuid.UUID(int=draw(st.integers(0, 2**64))))
    mutations = draw(st.integers(1, 3))
    for _ in range(mutations):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["set", "set", "set", "delete", "add"]))
        try:
            if how == "set":
                doc = _set(doc, path, draw(_values()))
            elif how == "delete":
                doc = _delete(doc, path)
            elif isinstance(doc, dict):
                target = doc
                for p in path:
                    target = target[p] if isinstance(target, (dict, list)) else target
                if isinstance(target, dict):
                    target[draw(st.sampled_from([*EDGE_STRINGS, "extra"]))] = draw(_values())
        except (KeyError, IndexError, TypeError):
            pass
    try:
        text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    except (RecursionError, ValueError):
        text = json.dumps(template)
    data = text.encode("utf-8", "surrogatepass")
    byte_level = draw(st.sampled_from(["none", "none", "none", "dup", "truncate", "flip", "nan"]))
    if byte_level == "dup" and data.startswith(b"{"):
        data = b'{"schema": "other", ' + data[1:]  # a duplicate key: which one wins?
    elif byte_level == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif byte_level == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1 :]
    elif byte_level == "nan":
        data = data.replace(b'"ram_bytes": ', b'"ram_bytes": NaN, "x": ', 1)
    return f"fuzz-{mutations}-{byte_level}.json", data
