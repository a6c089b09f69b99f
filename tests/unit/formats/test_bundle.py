"""The Sigstore bundle model on real bundles of every version (sigstore-python, sigstore-go, sigstore-rs, cosign),
and protojson's rules for defaults and int64 (issue 9: a TransparencyLogEntry of logIndex 0 has no logIndex)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from supplychain.formats.bundle import (
    BUNDLE_V01,
    BUNDLE_V02,
    BUNDLE_V03,
    BUNDLE_V03_ALT,
    MEDIA_TYPES,
    Bundle,
    BundleFormatError,
    MessageSignature,
    TransparencyLogEntry,
    bundle_version,
)
from supplychain.formats.dsse import Envelope
from supplychain.tlog.evidence import bundle_entries
from tests.support.fixture import fixture_path

REAL = [
    ("sigstore-python/bundle.txt.sigstore", 1, MessageSignature),
    ("sigstore-python/bundle_v3_github.whl.sigstore", 2, MessageSignature),
    ("sigstore-python/bundle_v3.txt.sigstore", 3, MessageSignature),
    ("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json", 3, Envelope),
    ("sigstore-go/dsse.sigstore.json", 1, Envelope),
    ("sigstore-go/sigstore.js@2.0.0-provenance.sigstore.json", 1, Envelope),
    ("sigstore-rs/bundle_v03.json", 3, Envelope),
    ("cosign/oci-attestation.sigstore.json", 3, Envelope),
]


def raw(path: str) -> bytes:
    return fixture_path("vectors", "tlog", *path.split("/")).read_bytes()


def document(path: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(raw(path))
    return doc


@pytest.mark.parametrize(("path", "version", "content"), REAL, ids=[r[0] for r in REAL])
def test_real_bundles_parse_once_and_round_trip(path: str, version: int, content: type) -> None:
    bundle = Bundle.parse(raw(path))
    assert bundle.version == version and isinstance(bundle.content, content)
    assert bundle.tlog_entries and bundle.raw == raw(path)
    # Written back in proto order, it reads as the same value.
    assert Bundle.parse(json.dumps(bundle.to_json()).encode()) == bundle


def test_both_media_type_spellings_and_no_others() -> None:
    assert [bundle_version(t) for t in (BUNDLE_V01, BUNDLE_V02, BUNDLE_V03, BUNDLE_V03_ALT)] == [1, 2, 3, 3]
    assert len(MEDIA_TYPES) == 4
    for other in ("application/vnd.dev.sigstore.bundle.v0.4+json", "application/vnd.dev.sigstore.bundle+json",
                  "application/vnd.dev.sigstore.bundle+json;version=0.3 ", "application/json"):
        assert bundle_version(other) is None
    doc = document("sigstore-python/bundle_v3.txt.sigstore")
    doc["mediaType"] = BUNDLE_V03_ALT
    assert Bundle.parse(json.dumps(doc).encode()).version == 3
    doc["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json"
    with pytest.raises(BundleFormatError, match=r"is not a Sigstore bundle v0\.1 to v0\.3"):
        Bundle.parse(json.dumps(doc).encode())


def test_omitted_log_index_is_entry_0() -> None:
    """protojson omits defaults (sigstore-js writes the first entry of a log without logIndex): entry 0."""
    doc = document("sigstore-python/bundle_v3.txt.sigstore")
    entry = doc["verificationMaterial"]["tlogEntries"][0]
    del entry["logIndex"], entry["inclusionProof"]["logIndex"], entry["integratedTime"]
    (parsed,) = Bundle.parse(json.dumps(doc).encode()).tlog_entries
    assert (parsed.log_index, parsed.inclusion_proof.log_index, parsed.integrated_time) == (0, 0, 0)  # type: ignore[union-attr]
    (rekor,) = bundle_entries(json.dumps(doc))
    assert rekor.log_index == 0 and rekor.inclusion_proof is not None and rekor.inclusion_proof.log_index == 0


@pytest.mark.parametrize("value", ["25579", 25579])
def test_int64_as_string_or_number(value: object) -> None:
    doc = document("sigstore-python/bundle_v3.txt.sigstore")
    doc["verificationMaterial"]["tlogEntries"][0]["logIndex"] = value
    assert Bundle.parse(json.dumps(doc).encode()).tlog_entries[0].log_index == 25579


@pytest.mark.parametrize("value", ["-1", "1.5", "0x10", "", " 1", True, 1.5, None, "9" * 20, [1]])
def test_bad_int64_values_are_refused(value: object) -> None:
    doc = document("sigstore-python/bundle_v3.txt.sigstore")
    doc["verificationMaterial"]["tlogEntries"][0]["logIndex"] = value
    with pytest.raises(BundleFormatError, match=r"tlogEntries\[0\]: logIndex"):
        Bundle.parse(json.dumps(doc).encode())


def test_an_entry_needs_its_log_id_and_body() -> None:
    for field in ("logId", "canonicalizedBody"):
        doc = document("sigstore-python/bundle_v3.txt.sigstore")
        del doc["verificationMaterial"]["tlogEntries"][0][field]
        with pytest.raises(BundleFormatError, match=r"tlogEntries\[0\]"):
            Bundle.parse(json.dumps(doc).encode())


def test_invariants_are_checked_when_built_too() -> None:
    envelope = Envelope(b"{}", "application/vnd.in-toto+json", ())
    with pytest.raises(BundleFormatError, match="both a public key and certificates"):
        Bundle(BUNDLE_V03, envelope, "hint", (b"der",))
    with pytest.raises(BundleFormatError, match="is not a Sigstore bundle"):
        Bundle("application/json", envelope)
    with pytest.raises(BundleFormatError, match="negative"):
        TransparencyLogEntry(-1, b"id", b"body")
    with pytest.raises(BundleFormatError, match="no logId"):
        TransparencyLogEntry(0, b"", b"body")


def test_both_certificate_forms_and_the_leaf() -> None:
    v01 = Bundle.parse(raw("sigstore-python/bundle.txt.sigstore"))  # x509CertificateChain
    v03 = Bundle.parse(raw("sigstore-python/bundle_v3.txt.sigstore"))  # certificate
    assert v01.certificate is not None and v01.certificates[0] == v01.certificate
    assert v03.certificates and v03.certificate is not None
    doc = document("sigstore-python/bundle_v3.txt.sigstore")
    doc["verificationMaterial"]["x509CertificateChain"] = {"certificates": [doc["verificationMaterial"]["certificate"]]}
    with pytest.raises(BundleFormatError, match="both certificate and x509CertificateChain"):
        Bundle.parse(json.dumps(doc).encode())
