"""Synthetic HostReports for benchmarks: demo machines cloned with new identities."""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from itaudit.demo.generate import generate
from itaudit.org import load_organisation
from itaudit.workspace import sample_root


def templates(now: datetime | None = None) -> list[dict[str, Any]]:
    """The demo fleet's reports, unsigned: varied OSes, roles and defects."""
    org = load_organisation(sample_root() / "inventory")
    out = []
    for _name, doc in generate(org, now=now or datetime.now(UTC)):
        doc = copy.deepcopy(doc)
        doc.pop("signature", None)
        doc.pop("bundle_signature", None)  # the synthetic machines are new, unsigned copies
        out.append(doc)
    return out


def synthetic_reports(
    count: int, seed: int = 1, now: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """`count` distinct machines, each a demo machine with a fresh identity."""
    rng = random.Random(seed)
    base = templates(now)
    for i in range(count):
        doc = copy.deepcopy(base[i % len(base)])
        ident = uuid.UUID(int=rng.getrandbits(128), version=4)
        doc["report_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        doc["identity"].update(
            hostname=f"SYN-{i:07d}",
            hardware_uuid=str(ident),
            serial=f"SYN{i:09d}",
            macs=["00:1b:21:" + ":".join(f"{b:02x}" for b in i.to_bytes(3, "big"))],
            asset_tag=None,
        )
        doc["agent"]["collector"] = "synthetic"
        yield doc
