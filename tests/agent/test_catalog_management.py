"""The catalogue's management signals and watch keywords: loading and matching."""

from __future__ import annotations

import pytest

from itaudit.agent.catalog import load_catalog, managed, service_states
from itaudit.errors import InputError

ENTRY = """
format: itaudit-security-products/1
watch: [contoso]
products:
  - id: contoso-av
    product: Contoso AV
    kind: av
    platforms: [windows]
    services: [ContosoSvc]
    management:
      services: [ContosoAgent]
      console: Contoso Console
      confidence: high
      source: test
"""


def test_management_agent_running_or_not(tmp_path):
    path = tmp_path / "extra.yaml"
    path.write_text(ENTRY, encoding="utf-8")
    product = load_catalog([path]).by_id("contoso-av")
    assert product is not None and product.management is not None
    assert product.management.console == "Contoso Console"
    on = service_states([("ContosoAgent", True)])
    off = service_states([("ContosoAgent", False)])
    assert (managed(product, on, set()), managed(product, off, set())) == (True, False)


def test_a_product_without_management_cannot_show_it(catalog):
    bkav = catalog.by_id("bkav-pro")
    assert managed(bkav, service_states([("BkavService", True)]), {"bkav.exe"}) is None


def test_kaspersky_network_agent_is_the_management_signal(catalog):
    kes = catalog.by_id("kaspersky-endpoint")
    assert managed(kes, service_states([("klnagent", True)]), set()) is True
    assert managed(kes, {}, {"klnagent.exe"}) is True
    assert managed(kes, service_states([("AVP", True)]), {"avp.exe"}) is False


def test_watch_keywords_merge_and_match_at_word_starts(tmp_path):
    path = tmp_path / "extra.yaml"
    path.write_text(ENTRY, encoding="utf-8")
    catalog = load_catalog([path])
    assert "contoso" in catalog.watch and "bkav" in catalog.watch
    assert catalog.watched("ContosoHelper.exe") == "contoso"
    assert catalog.watched(None, "The Bkav Endpoint Service") == "bkav"
    assert catalog.watched("ResetEngine.exe") is None  # "eset" inside a word
    assert catalog.knows_name("contosoagent") and catalog.knows_name("CONTOSOSVC")
    assert not catalog.knows_name("ContosoHelper.exe")


def test_a_bad_management_block_names_file_line_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(ENTRY.replace("      services: [ContosoAgent]\n", ""), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_catalog([path])
    assert f"{path}:10: products[0].management: management needs a service or process name" in str(
        info.value
    )


def test_a_short_watch_keyword_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(ENTRY.replace("watch: [contoso]", "watch: [av]"), encoding="utf-8")
    with pytest.raises(InputError, match="watch must be a list"):
        load_catalog([path])
