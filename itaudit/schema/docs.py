"""Markdown documentation of the HostReport, generated from the schema.

`docs/host-report.md` is this output; a test fails when they differ, so the
documentation cannot drift from the schema.
"""

from __future__ import annotations

from typing import Any

from itaudit.schema import SCHEMA_ID, iter_fact_paths, load_schema

_GROUPS = (
    "agent",
    "identity",
    "os",
    "hardware",
    "network",
    "security",
    "patches",
    "software",
    "errors",
    "signature",
    "bundle_signature",
)


def _type(sub: dict[str, Any]) -> str:
    if "const" in sub:
        return f"`{sub['const']}`"
    if "enum" in sub:
        return " | ".join("null" if v is None else f"`{v}`" for v in sub["enum"])
    if "anyOf" in sub:
        return " or ".join(_type(s) for s in sub["anyOf"])
    kinds = sub.get("type", "any")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    text = " or ".join(kinds)
    extras = []
    if "format" in sub:
        extras.append(sub["format"])
    if "maxLength" in sub:
        extras.append(f"≤ {sub['maxLength']} chars")
    if "maxItems" in sub:
        extras.append(f"≤ {sub['maxItems']} items")
    if "pattern" in sub and "format" not in sub:
        extras.append("pattern")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    schema = load_schema()
    required_top = set(schema.get("required", []))
    lines = [
        "# The HostReport (`" + SCHEMA_ID + "`)",
        "",
        "<!-- Generated from itaudit/schema/host-report-1.json by `itaudit schema docs`; "
        "a test fails when this file and the schema differ. Do not edit by hand. -->",
        "",
        schema["description"],
        "",
        "One JSON document per collection, UTF-8. Timestamps are RFC 3339 with an offset "
        "(agents write UTC with `Z`). Unknown facts are `null` or absent, never guessed. "
        "`itaudit schema validate FILE` checks a file without storing it.",
        "",
        "## Top level",
        "",
        "| field | type | required | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for name, sub in schema["properties"].items():
        req = "yes" if name in required_top else "no"
        lines.append(
            f"| `{name}` | {_cell(_type(sub))} | {req} | {_cell(sub.get('description', ''))} |"
        )
    paths = list(iter_fact_paths())
    for group in _GROUPS:
        sub = schema["properties"][group]
        lines += ["", f"## `{group}`", ""]
        if sub.get("description"):
            lines += [sub["description"], ""]
        lines += ["| fact path | type | meaning |", "| --- | --- | --- |"]
        for path, node in paths:
            if path.startswith(group + ".") or path.startswith(group + "[]"):
                lines.append(
                    f"| `{path}` | {_cell(_type(node))} | {_cell(node.get('description', ''))} |"
                )
    lines += [
        "",
        "## Signature",
        "",
        "The optional `signature` member holds an Ed25519 signature over the canonical form of the report "
        "without that member: JSON with keys sorted, separators `,` and `:` without spaces, UTF-8 "
        "(non-ASCII characters written as themselves). The SHA-256 of the same canonical form is the report's "
        "content hash in the store: the same report sent twice is stored once.",
        "",
        "The optional `bundle_signature` member is the Windows collector's own signature, copied from "
        "its bundle by `agent parse`: an ECDSA P-256 signature over `statement` (the host name, the "
        "collection time, the platform, the key store and the SHA-256 of every file of the bundle). "
        "Ingest verifies it again from the report alone, checks that `manifest_digest` is the "
        "statement's SHA-256 and that the statement names this report's host, time and platform, and "
        "pins its key per key store. The facts are derived from the signed files, not signed "
        'themselves: see docs/agent.md, "Signed bundles", for what that does and does not catch.',
        "",
        "## Fact paths in profiles",
        "",
        "Rules name facts by these paths; `[]` stands for every item of a list "
        "(`security.antivirus[].enabled`). A profile that names a path not listed here fails to load.",
        "",
    ]
    return "\n".join(lines)
