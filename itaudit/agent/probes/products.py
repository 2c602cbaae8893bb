"""Security products seen through the catalogue, shared by the Windows and Linux probes."""

from __future__ import annotations

from typing import Any

from itaudit.agent.catalog import Sighting


def catalog_entry(
    sighting: Sighting, managed: bool | None = None, console: str | None = None
) -> dict[str, Any]:
    """An `antivirus` or `edr` entry for a product found by service / process name.

    `managed` and `console` say whether the product's management agent (its
    catalogue `management:` names) was seen running; None when the catalogue
    names none.
    """
    p = sighting.product
    if p.kind == "edr":
        return {
            "name": p.product,
            "vendor": p.vendor,
            "source": "catalog",
            "running": sighting.running,
            "connected": None,
            "version": None,
            "console": None,
        }
    return {
        "name": p.product,
        "vendor": p.vendor,
        "source": "catalog",
        "enabled": None,
        "up_to_date": None,
        "signature_date": None,
        "signature_version": None,
        "product_state": None,
        "running": sighting.running,
        "mode": None,
        "managed": managed,
        "console": console,
    }
