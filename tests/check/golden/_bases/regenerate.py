"""Rewrite the frozen base reports of the golden cases from the demo generator.

    python tests/check/golden/_bases/regenerate.py

Bases are clean machines collected at 2026-11-19T12:00Z; cases change only
the facts they test. Rerun only when the HostReport schema gains fields, and
review the diff: golden cases must not move silently.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from itaudit.demo.generate import generate
from itaudit.org import load_organisation
from itaudit.workspace import sample_root

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 19, 14, 0, tzinfo=UTC)
BASES = {
    "windows-workstation": "HO-PC-001",
    "windows-laptop": "HO-LT-001",
    "windows-server-offsite": "HO-SRV-001",
    "windows-server": "TCNMN-SRV-001",
    "linux-server": "DVVL-SRV-001",
    "linux-laptop": "TCNMN-LT-002",
    "secret-workstation": "HO-PC-070",
}


def main() -> None:
    org = load_organisation(sample_root() / "inventory")
    docs = {name.removesuffix(".json"): doc for name, doc in generate(org, now=NOW, defects=[])}
    for base, tag in BASES.items():
        doc = docs[tag]
        doc.pop("signature", None)
        doc.pop("bundle_signature", None)  # the collected_at below would break it
        doc["collected_at"] = "2026-11-19T12:00:00Z"
        (HERE / f"{base}.json").write_text(
            json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        print(f"{base}.json <- {tag}")


if __name__ == "__main__":
    main()
