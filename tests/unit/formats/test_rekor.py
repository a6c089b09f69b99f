"""Rekor's wire forms on real third-party data, and every proposal and body we write against the models of
``sigstore-rekor-types`` (Trail of Bits' pydantic models generated from Rekor's OpenAPI and type schemas)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import rekor_types
from cryptography import x509
from pydantic import ValidationError

from supplychain.digest import Digest
from supplychain.formats.bundle import Bundle
from supplychain.formats.rekor import (
    DsseProposal,
    DsseRecord,
    EntryKindError,
    HashedRekord,
    IntotoRecord,
    RekorBundle,
    cosign_bundle_document,
    parse_body,
)
from supplychain.keys import PublicKey
from supplychain.tlog.evidence import bundle_entries, verify_entry
from supplychain.tlog.kind import canonicalize
from supplychain.trust.root import TrustedRoot, load_trusted_root
from supplychain.verify.check import CheckContext
from supplychain.verify.check import Signer as EvidenceSigner
from supplychain.verify.evidence import PayloadKind, SignatureEvidence
from supplychain.verify.result import EvidenceSource
from supplychain.verify.transparency import TransparencyLogCheck
from tests.support.tlog import Signer, statement
from tests.unit.tlog.vectors import fixture_path

COSIGN_V3 = fixture_path("tlog", "cosign", "oci-attestation.sigstore.json")
"""A cosign v3 attestation bundle: a DSSE envelope logged as a ``dsse`` 0.0.1 entry by the public Rekor."""


def _bundle() -> dict[str, Any]:
    return json.loads(COSIGN_V3.read_bytes())


def test_the_public_rekors_dsse_body_parses() -> None:
    """Rekor writes ``signatures[].verifier``: the body of cosign v3's attestation is read as Rekor wrote it."""
    bundle = _bundle()
    (entry,) = bundle_entries(COSIGN_V3.read_bytes())
    record = parse_body(entry.entry.body)
    assert isinstance(record, DsseRecord)
    envelope = bundle["dsseEnvelope"]
    assert record.payload_hash == hashlib.sha256(base64.b64decode(envelope["payload"])).digest()
    (logged,) = record.signatures
    assert logged.signature == envelope["signatures"][0]["sig"]
    leaf = x509.load_der_x509_certificate(base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"]))
    assert x509.load_pem_x509_certificate(logged.verifier) == leaf
    # our model writes the body back byte for byte: the same wire names, Rekor's canonical form
    assert record.body() == entry.entry.body


def test_the_public_rekors_dsse_entry_verifies_with_sigstores_production_root(tmp_path: Path) -> None:
    """The bundle's transparency-log evidence, as ``verify`` checks it (body = this signature and certificate, SET
    and inclusion proof with the production Rekor key from the ``sigstore`` package), passes. It is an attestation,
    so ``verify`` of the image skips it (formats.bundle / verify.evidence); the log check is run on it directly."""
    bundle = _bundle()
    statement_ = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    digest = Digest.parse("sha256:" + statement_["subject"][0]["digest"]["sha256"])
    parsed = Bundle.parse(COSIGN_V3.read_bytes())
    assert parsed.envelope is not None
    evidence = SignatureEvidence(
        EvidenceSource.REFERRER, "referrer", PayloadKind.IN_TOTO, payload=parsed.envelope.payload,
        signed_bytes=parsed.envelope.signed_bytes, signature=parsed.envelope.signatures[0].sig, bundle=parsed)
    leaf = x509.load_der_x509_certificate(base64.b64decode(bundle["verificationMaterial"]["certificate"]["rawBytes"]))
    signer = EvidenceSigner(PublicKey(leaf.public_key()), leaf)  # type: ignore[arg-type]
    outcome = TransparencyLogCheck(TrustedRoot.production().tlog_keyring()).run(
        evidence, CheckContext(digest, signer))
    assert outcome.passed, outcome.detail
    assert outcome.log_time == 1740770291
    # and the evidence alone, with the root cosign's test data names
    (entry,) = bundle_entries(COSIGN_V3.read_bytes())
    pgi = load_trusted_root(fixture_path("tlog", "cosign", "trusted_root_pgi.json").read_bytes())
    assert verify_entry(entry, pgi, require_timestamp=True, require_inclusion=True).checkpoint is not None


def test_intoto_v002_bodies_are_read() -> None:
    """npm provenance (sigstore-js 2.0) is logged as intoto 0.0.2: ``sig`` is the envelope's base64 text, once
    more base64-encoded."""
    data = fixture_path("tlog", "sigstore-go", "sigstore.js@2.0.0-provenance.sigstore.json").read_bytes()
    (entry,) = bundle_entries(data)
    record = parse_body(entry.entry.body)
    assert isinstance(record, IntotoRecord)
    envelope = json.loads(data)["dsseEnvelope"]
    assert record.payload_type == envelope["payloadType"] == "application/vnd.in-toto+json"
    assert record.payload_hash == hashlib.sha256(base64.b64decode(envelope["payload"])).digest()
    assert [sig.sig for sig in record.signatures] == [sig["sig"] for sig in envelope["signatures"]]
    x509.load_pem_x509_certificate(record.signatures[0].public_key)


def test_old_field_names_are_refused() -> None:
    """``publicKeys``/``publicKey`` are not Rekor's dsse names (they were ours): such a proposal is a schema error."""
    signer = Signer()
    proposal = signer.dsse(statement("ab" * 32)).proposed_entry()
    content = proposal["spec"]["proposedContent"]
    content["publicKeys"] = content.pop("verifiers")
    with pytest.raises(EntryKindError, match="verifiers"):
        canonicalize(proposal)


# -- what we write, validated by sigstore-rekor-types -----------------------------------------------------


def _proposals() -> list[HashedRekord | DsseProposal]:
    alice, bob = Signer(), Signer()
    payload = statement("cd" * 32)
    one, two = json.loads(alice.envelope(payload)), json.loads(bob.envelope(payload))
    both = json.dumps({**one, "signatures": one["signatures"] + two["signatures"]}).encode()
    return [alice.hashedrekord(b"artifact"), alice.dsse(payload), DsseProposal(both, (alice.pem, bob.pem))]


@pytest.mark.parametrize("proposal", _proposals(), ids=["hashedrekord", "dsse", "dsse-2-signatures"])
def test_every_proposal_and_body_we_write_is_rekors(proposal: HashedRekord | DsseProposal) -> None:
    model: type[rekor_types.Hashedrekord | rekor_types.Dsse]
    model = rekor_types.Hashedrekord if isinstance(proposal, HashedRekord) else rekor_types.Dsse
    model.model_validate(proposal.proposed_entry())
    body = json.loads(canonicalize(proposal.proposed_entry()).body)
    parsed = model.model_validate(body)
    if isinstance(proposal, DsseProposal):  # a body is the schema's second form: hashes and signatures
        spec = parsed.spec.root  # type: ignore[union-attr]
        assert spec.signatures and spec.envelope_hash is not None and spec.proposed_content is None
        assert all(sig.verifier for sig in spec.signatures)


def test_the_validation_can_fail() -> None:
    """The schema check is not vacuous: the names we used to write are refused by Rekor's models."""
    proposal = Signer().dsse(statement("ab" * 32)).proposed_entry()
    content = proposal["spec"]["proposedContent"]
    content["publicKeys"] = content.pop("verifiers")
    with pytest.raises(ValidationError):
        rekor_types.Dsse.model_validate(proposal)
    body = json.loads(canonicalize(Signer().dsse(statement("ab" * 32)).proposed_entry()).body)
    for sig in body["spec"]["signatures"]:
        sig["publicKey"] = sig.pop("verifier")
    with pytest.raises(ValidationError):
        rekor_types.Dsse.model_validate(body)


# -- cosign's annotation ----------------------------------------------------------------------------------


def test_cosign_annotation_one_model_two_readings() -> None:
    """Verification reads the annotation strictly; ``download`` prints it as Go's struct re-marshals it."""
    vector = json.loads(fixture_path("tlog", "containers-image", "rekor-set").read_text())
    text = json.dumps(vector)
    bundle = RekorBundle.parse(text)
    assert cosign_bundle_document(text) == bundle.to_document()
    assert list(cosign_bundle_document(text)["Payload"]) == ["body", "integratedTime", "logIndex", "logID"]
    lenient = cosign_bundle_document(json.dumps({**vector, "Extra": 1}))
    assert lenient == bundle.to_document()  # Go drops unknown keys; the strict reader refuses them
    with pytest.raises(Exception, match="expected exactly"):
        RekorBundle.parse(json.dumps({**vector, "Extra": 1}))
