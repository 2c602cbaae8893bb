"""The antivirus / EDR catalogue: exact matching, extension by YAML, clear errors."""

from __future__ import annotations

import pytest

from itaudit.agent.catalog import load_catalog, match
from itaudit.errors import InputError

BKAV_ENDPOINT = """
format: itaudit-security-products/1
products:
  - id: bkav-endpoint
    product: Bkav Endpoint
    kind: edr
    vendor: Bkav
    platforms: [windows]
    services: [BkavEndpointSvc]
    processes: [BkavEDRAgent.exe]
    confidence: high
    source: learnt from HO-KT-PC07 on 2026-11-20
"""


def test_shipped_catalogue_has_the_level1_products(catalog):
    ids = {p.id for p in catalog.products}
    assert {
        "defender-av",
        "defender-endpoint",
        "crowdstrike",
        "sentinelone",
        "wazuh",
        "bkav-pro",
        "cmc-antivirus",
        "cyradar-edr",
        "kaspersky-endpoint",
        "eset-endpoint",
    } <= ids


def test_names_match_exactly_not_by_substring(catalog):
    seen = match(catalog, "windows", [("BkavUpdaterSvc", True)], ["BkavUpdater.exe", "bkav.EXE"])
    assert [(s.product.id, s.evidence) for s in seen] == [("bkav-pro", ("process bkav.exe",))]


def test_stopped_service_is_seen_but_not_running(catalog):
    seen = match(catalog, "windows", [("WinDefend", False)], [])
    assert [(s.product.id, s.running) for s in seen] == [("defender-av", False)]


def test_linux_units_match_with_or_without_suffix(catalog):
    seen = match(catalog, "linux", [("wazuh-agent.service", True)], [])
    assert [s.product.id for s in seen] == ["wazuh"]


def test_an_extra_file_adds_a_product(tmp_path):
    extra = tmp_path / "security-products.yaml"
    extra.write_text(BKAV_ENDPOINT, encoding="utf-8")
    catalog = load_catalog([extra])
    seen = match(catalog, "windows", [("BkavEndpointSvc", True)], [])
    assert [(s.product.product, s.product.kind, s.running) for s in seen] == [
        ("Bkav Endpoint", "edr", True)
    ]


def test_a_bad_entry_names_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BKAV_ENDPOINT.replace("kind: edr", "kind: firewall"), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_catalog([bad])
    assert f"{bad}:6: products[0].kind: kind must be one of av, edr" in str(info.value)


def test_agent_collect_reads_the_workspace_catalogue(run_cli, tmp_path):
    (tmp_path / "inventory").mkdir()
    (tmp_path / "inventory" / "security-products.yaml").write_text(
        "format: nope\n", encoding="utf-8"
    )
    res = run_cli("agent", "collect", "--no-sign", cwd=tmp_path)
    assert res.returncode == 2
    assert "security-products.yaml" in res.stderr and "format must be" in res.stderr
