"""Both ArtifactStore implementations are context managers: ``with open_store(...) as store:`` closes them."""

from __future__ import annotations

from pathlib import Path

from supplychain.config import Settings
from supplychain.layout import OciLayout
from supplychain.oci.store import ArtifactStore
from supplychain.reference import parse_reference
from supplychain.registry.client import RegistryClient
from supplychain.store import open_store


def test_a_layout_store_is_a_context_manager(tmp_path: Path):
    with open_store(parse_reference(f"oci:{tmp_path / 'layout'}"), Settings(), create=True) as store:
        assert isinstance(store, OciLayout) and isinstance(store, ArtifactStore)
        assert list(store.tags()) == []


def test_a_registry_store_closes_the_http_client_it_built_on_exit():
    # 127.0.0.1:9 (discard) is never contacted: nothing is asked of the store.
    with RegistryClient("127.0.0.1:9", Settings()).repository("team/app") as store:
        assert isinstance(store, ArtifactStore)
        http = store.client._http
        assert not http.is_closed
    assert http.is_closed
