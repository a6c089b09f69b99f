"""Evidence for a blob: a Sigstore bundle file (v0.1 to v0.3) and the artifact's digest, as ``verify-blob`` reads
them, checked by the same ``Verifier`` and checks as an image's signatures (``Verifier.verify_blob``).

A bundle holds one signature, of one of two kinds (protobuf-specs ``sigstore_bundle.proto``):

* a ``messageSignature``: a signature over the artifact itself, made (and checked) through its SHA-256 digest, as
  cosign ``sign-blob`` and sigstore ``sign`` make it; its ``messageDigest``, when present, is the claim that must
  name the artifact (``PayloadKind.MESSAGE``);
* a ``dsseEnvelope`` with exactly one signature (the bundle spec; sigstore-go refuses two: its
  ``dsse-2sigs`` vector) over the PAE of an in-toto statement whose subject must name the artifact's digest, of any
  predicate type (sigstore-python ``verify identity``; ``PayloadKind.IN_TOTO``).

The bundle's certificate material is the leaf, and for v0.1/v0.2 maybe intermediates: roots come only from the
trusted root (protobuf-specs client policy: the chain MUST NOT include a root CA). A self-signed certificate in the
chain of a v0.3 bundle is refused; in a v0.1/v0.2 bundle, which older clients wrote with the whole chain, it is a
warning, as sigstore-python warns (the carried chain is never a trust anchor: ``verify.certificate``).
What cannot be checked is a problem of the one ``SignatureEvidence``, never an exception: the result says why.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from cryptography import x509

from supplychain.digest import Digest
from supplychain.errors import InvalidInputError, NotFoundError
from supplychain.formats.bundle import Bundle, BundleFormatError
from supplychain.verify.evidence import Evidence, PayloadKind, SignatureEvidence, envelope_evidence
from supplychain.verify.result import EvidenceSource


def blob_evidence(bundle: Bundle, subject: Digest, *, location: str = "bundle", predicate_type: str | None = None
                    ) -> Evidence:
    """The one signature of ``bundle`` as evidence about the artifact ``subject`` (its SHA-256); a DSSE statement
    of any predicate type, or (``verify-blob-attestation``) only of ``predicate_type``."""
    problem = _chain_problem(bundle)
    if problem is not None and bundle.version < 3:
        return Evidence(subject, (_signature(bundle, subject, location, predicate_type),), warnings=(problem,))
    signature = _signature(bundle, subject, location, predicate_type)
    return Evidence(subject, (signature if problem is None else replace(signature, problem=problem),))


def _signature(bundle: Bundle, subject: Digest, location: str, predicate_type: str | None) -> SignatureEvidence:
    envelope, message = bundle.envelope, bundle.message_signature
    kind = PayloadKind.MESSAGE if envelope is None else PayloadKind.IN_TOTO
    base = SignatureEvidence(EvidenceSource.BUNDLE_FILE, location, kind, bundle=bundle)
    if message is not None:
        if predicate_type is not None:  # verify-blob-attestation: a message signature attests nothing
            return replace(base, problem=f"expected a DSSE attestation of {predicate_type}, got a message signature "
                           "(a sign-blob bundle: verify it with verify-blob)")
        if subject.algorithm != "sha256":
            return replace(base, problem=f"expected the artifact's sha256 digest, got {subject.algorithm}")
        return replace(base, payload=b"", signed_bytes=bytes.fromhex(subject.hex), signature=message.signature)
    assert envelope is not None
    # The one reader of a DSSE envelope as evidence (its payload type, predicate type and single signature), as
    # for an image's bundles and .att layers; any predicate type names the blob (predicate_type=None).
    evidence = envelope_evidence(base, envelope, predicate_type, f"a v0.{bundle.version} bundle")
    if evidence.skip is not None:  # among an image's attachments a skip; the one bundle named here fails
        return replace(evidence, skip=None, problem=evidence.skip)
    return evidence


def _chain_problem(bundle: Bundle) -> str | None:
    for number, der in enumerate(bundle.certificates):
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            return f"expected DER certificates in the bundle, got one that does not parse (certificate {number}): " \
                   f"{exc}"
        if number > 0 and certificate.subject == certificate.issuer:
            return (f"expected the bundle's certificate chain without its root, got a self-signed certificate "
                    f"(certificate {number}: {certificate.subject.rfc4514_string()[:200]}); roots come only from "
                    "the trusted root")
    return None




MAX_BUNDLE_FILE_BYTES = 16 << 20
"""Largest bundle file read (a bundle is a few KiB; 64 log entries and 32 timestamps stay far below this)."""


def read_bundle(path: str | Path) -> Bundle:
    """The bundle file at ``path``, read capped and parsed strictly (``BundleFormatError``, exit 3)."""
    from supplychain.files import read_capped

    try:
        data = read_capped(path, MAX_BUNDLE_FILE_BYTES, what=f"bundle {path}")
    except FileNotFoundError as exc:
        raise NotFoundError(f"bundle {path} does not exist", hint="give the bundle file the signer wrote") from exc
    except IsADirectoryError as exc:
        raise InvalidInputError(f"bundle {path} is a directory", hint="give the bundle file") from exc
    try:
        return Bundle.parse(data)
    except BundleFormatError as exc:
        raise BundleFormatError(f"bundle {path}: {exc.message}", hint=exc.hint) from exc


def artifact_digest(artifact: str) -> Digest:
    """The SHA-256 of the artifact ``FILE`` (streamed), or the digest ``sha256:<hex>`` itself (cosign's
    ``verify-blob`` spelling for an artifact not at hand)."""
    if artifact.startswith("sha256:"):
        return Digest.parse(artifact)
    try:
        with open(artifact, "rb") as handle:
            hasher = hashlib.file_digest(handle, "sha256")  # streamed in chunks by the standard library
    except FileNotFoundError as exc:
        raise NotFoundError(f"artifact {artifact} does not exist",
                            hint="give the file that was signed, or its digest as sha256:<hex>") from exc
    except IsADirectoryError as exc:
        raise InvalidInputError(f"artifact {artifact} is a directory",
                                hint="give the file that was signed, or its digest as sha256:<hex>") from exc
    return Digest("sha256", hasher.hexdigest())


__all__ = ["MAX_BUNDLE_FILE_BYTES", "artifact_digest", "blob_evidence", "read_bundle"]
