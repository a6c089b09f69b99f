"""Every reader of untrusted JSON goes through the strict decoder and keeps its own error class and exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.errors import ConfigurationError, ExitCode, InvalidManifestError
from supplychain.formats.rekor import EntryFormatError, RekorBundle
from supplychain.registry.credentials import find_credentials
from supplychain.registry.errors import parse_error_body
from supplychain.tlog.evidence import read_evidence
from supplychain.tlog.monitor import MonitorStateError, load_state
from supplychain.trust.error import TrustedRootError
from supplychain.trust.root import load_trusted_root
from tests.unit.tlog.vectors import fixture_path

HUGE = b"9" * 6000
TRUSTED_ROOT = fixture_path("tlog", "sigstore-python", "trusted_root.production.json").read_bytes()


def with_huge_number(document: bytes) -> bytes:
    """``document`` (a JSON object) with one more member, a 6,000-digit number."""
    return document.rstrip().removesuffix(b"}") + b',"x":' + HUGE + b"}"


def test_docker_config_refuses_duplicate_keys_and_wide_numbers(tmp_path: Path):
    settings = Settings(docker_config_dir=tmp_path)
    for raw, words in ((b'{"auths":{},"auths":{"a.example":{"auth":"eDp5"}}}', "duplicate JSON key 'auths'"),
                       (b'{"auths":{},"x":' + HUGE + b"}", "6000 digits")):
        (tmp_path / "config.json").write_bytes(raw)
        with pytest.raises(ConfigurationError, match=words) as caught:
            find_credentials("a.example", settings)
        assert caught.value.exit_code is ExitCode.INVALID_INPUT
    (tmp_path / "config.json").write_bytes(b'{"auths":{}}')  # control
    assert find_credentials("a.example", settings) is None


def test_trusted_root_refuses_duplicate_keys_and_wide_numbers():
    assert load_trusted_root(TRUSTED_ROOT)  # control
    duplicated = TRUSTED_ROOT.replace(b'"mediaType"', b'"tlogs":[],"mediaType"', 1)
    for raw, words in ((duplicated, "duplicate JSON key 'tlogs'"), (with_huge_number(TRUSTED_ROOT), "6000 digits")):
        with pytest.raises(TrustedRootError, match=words):
            load_trusted_root(raw)


def test_evidence_and_rekor_bundles_refuse_wide_numbers():
    with pytest.raises(EntryFormatError, match="6000 digits"):
        read_evidence(b'{"SignedEntryTimestamp":"AA==","x":' + HUGE + b"}")
    with pytest.raises(EntryFormatError, match="Rekor bundle is not valid JSON: an integer of 6000 digits"):
        RekorBundle.parse(b'{"SignedEntryTimestamp":"AA==","Payload":{"logIndex":' + HUGE + b"}}")


def test_monitor_state_refuses_wide_numbers(tmp_path: Path):
    state = tmp_path / "state.json"
    state.write_bytes(b'{"version":1,"treeSize":' + HUGE + b"}")
    with pytest.raises(MonitorStateError, match="6000 digits"):
        load_state(state)


def test_registry_error_bodies_never_raise():
    assert parse_error_body(b'{"errors":[{"code":"DENIED","message":"' + b'x"}],"n":' + HUGE + b"}") == []
    assert parse_error_body(json.dumps({"errors": [{"code": "DENIED", "message": "no"}]}).encode())[0].code == "DENIED"


def test_manifest_wide_number_is_an_invalid_manifest_with_a_hint():
    from supplychain.oci.model import parse_manifest

    with pytest.raises(InvalidManifestError, match="6000 digits") as caught:
        parse_manifest(b'{"schemaVersion":2,"x":' + HUGE + b"}")
    assert caught.value.exit_code is ExitCode.INVALID_INPUT and caught.value.hint
