"""``attest_image``: an in-toto attestation of an image, signed in DSSE, logged, and stored as cosign stores it.

What ``cosign attest --predicate FILE --type T`` makes (cosign ``cmd/cosign/cli/attest``, ``pkg/cosign/attestation``):

1. an in-toto Statement (``formats.intoto.build_statement``): subject = the image's repository name and digest,
   ``predicateType`` = the ``--type`` alias's URI (``formats.intoto.PREDICATE_ALIASES``) or the URI given, the
   predicate = the file (``build_predicate``: cosign's ``custom`` wraps the file's text as ``{"Data", "Timestamp"}``,
   ``spdx`` keeps the file as a string, tag-value or JSON; every other type, ``spdxjson`` included, needs a JSON
   object). We write Statement v1
   (cosign still writes ``_type`` v0.1; both verify the same way);
2. a DSSE envelope over it (payloadType ``application/vnd.in-toto+json``, one signature over the PAE);
3. with a log, a ``dsse`` entry of the envelope, recorded *before* anything is stored (``signing.transparency``);
4. stored as a Sigstore bundle v0.3 referrer (cosign v3's default; ``signing.bundle.bundle_referrer`` with the
   ``dev.sigstore.bundle.predicateType`` annotation) or, ``AttestationFormat.LEGACY``, appended as a layer to the
   ``sha256-<hex>.att`` manifest (cosign v1/v2, cosign ``specs/ATTESTATION_SPEC.md``: an OCI image manifest, one
   layer per attestation): media type ``application/vnd.dsse.envelope.v1+json``, the
   envelope JSON as its blob, the ``predicateType`` annotation, and the log entry as cosign's Rekor bundle
   annotation ``dev.sigstore.cosign/bundle`` (``signing.writer.append_layers``, confirmed against concurrent
   writers). cosign v2 logs a legacy attestation as an ``intoto`` entry; we log the same envelope as a ``dsse``
   entry, the kind the local log and ``verify`` support (Rekor's successor of ``intoto`` for DSSE).

Who signs is a parameter: an ``EnvelopeSigner`` (a key, ``KeySigner``, with an optional BYO-PKI certificate), whose
envelope is logged here in ``log``; or a ``signing.keyless.KeylessSigner`` (a Fulcio certificate for an OIDC
identity), which signs and logs through sigstore (``sign_statement``: the v0.3 bundle with its certificate and log
entry; never without the entry) and is stored the same two ways (legacy: with cosign's certificate, chain and
Rekor bundle annotations, as ``cosign attest`` keyless writes them).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, assert_never

from supplychain.clock import Clock, utc_now
from supplychain.digest import Digest
from supplychain.errors import InvalidInputError
from supplychain.formats import gojson
from supplychain.formats.dsse import ENVELOPE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, DsseSignature, Envelope
from supplychain.formats.intoto import COSIGN_CUSTOM_PREDICATE, build_statement, predicate_type_for
from supplychain.keys import PrivateKey, PublicKey
from supplychain.limits import MAX_SIGNATURE_BYTES
from supplychain.oci.attachment import ATTESTATION_PREDICATE_TYPE_ANNOTATION, AttachmentKind, attachment_tag
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor
from supplychain.oci.store import ArtifactStore
from supplychain.oci.tagwriter import Sleep
from supplychain.signing.attach import SigningCertificate
from supplychain.signing.bundle import build_bundle, bundle_referrer, key_hint, rfc3339
from supplychain.signing.signature import create_signature
from supplychain.signing.writer import append_layers

if TYPE_CHECKING:  # the log's modules load only when a log is used
    from supplychain.signing.keyless import KeylessSigner
    from supplychain.signing.transparency import SigningLog
    from supplychain.tlog.evidence import RekorEntry


class AttestationFormat(StrEnum):
    """Where and how an attestation is stored."""

    LEGACY = "legacy"  # cosign v1/v2: a DSSE envelope layer of the sha256-<hex>.att manifest
    BUNDLE = "bundle"  # cosign v3: a Sigstore bundle v0.3 in an OCI 1.1 referrer


class PredicateError(InvalidInputError):
    """A predicate file that cannot be attested: not JSON where JSON is needed, empty, or too large."""

    default_hint = ("give the predicate document itself (a JSON object, e.g. SLSA provenance or an SBOM); "
                    "--type custom attests any text")


class EnvelopeSigner(Protocol):
    """Who signs a DSSE envelope: the public key a verifier checks, the certificate (if any) stored and logged
    with it, and the signature over given bytes. ``KeySigner`` is a key; a keyless signer (a Fulcio certificate for
    an OIDC identity) provides the same three."""

    @property
    def public_key(self) -> PublicKey: ...

    @property
    def certificate(self) -> SigningCertificate | None: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class KeySigner:
    """A private key (``--key``), with an optional BYO-PKI certificate for it."""

    private_key: PrivateKey
    certificate: SigningCertificate | None = None

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    def sign(self, message: bytes) -> bytes:
        return create_signature(self.private_key, message)


@dataclass(frozen=True, slots=True)
class Attestation:
    """What ``attest_image`` made and where it went."""

    subject: Descriptor
    attestation_format: AttestationFormat
    predicate_type: str
    statement: bytes
    envelope: Envelope
    bundle: bytes | None  # bundle format: the bundle JSON
    artifact: Descriptor | None  # the referrer or .att manifest written (None: nothing uploaded)
    tag: str | None = None  # legacy: the .att tag
    tlog_entry: RekorEntry | None = None
    log_url: str | None = None


# cosign's --type whose predicate is the file's text as it is (GenerateStatement: generateSPDXStatement without
# parseJSON), where spdxjson, of the same predicate type, parses it.
SPDX_TEXT_KIND = "spdx"


def build_predicate(data: bytes, kind: str, *, clock: Clock = utc_now) -> Any:
    """The statement's ``predicate`` for the bytes of a predicate file and ``--type kind`` (an alias or a predicate
    type URI), as cosign's ``GenerateStatement`` builds it (see the module docstring): ``custom`` wraps the text,
    ``spdx`` keeps the file as text whatever it holds (tag-value, or JSON as a string), and every other kind,
    ``spdxjson`` included, needs a JSON object; ``PredicateError`` for what cosign would refuse."""
    predicate_type = predicate_type_for(kind)
    if predicate_type == COSIGN_CUSTOM_PREDICATE:
        return {"Data": _text(data), "Timestamp": rfc3339(clock())}
    if kind == SPDX_TEXT_KIND:
        return _text(data)
    try:
        document = gojson.decode_strict(data)
    except ValueError as exc:
        raise PredicateError(f"the predicate for {kind} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise PredicateError(f"the predicate for {kind} is a JSON {type(document).__name__}, "
                             "not an object")
    return document


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PredicateError("the predicate file is not UTF-8 text") from exc


def attest_image(
    store: ArtifactStore,
    subject: Descriptor,
    signer: EnvelopeSigner | KeylessSigner,
    *,
    docker_reference: str,
    predicate_type: str,
    predicate: Any,
    attestation_format: AttestationFormat = AttestationFormat.BUNDLE,
    upload: bool = True,
    log: SigningLog | None = None,
    clock: Clock = utc_now,
    sleep: Sleep = time.sleep,
    max_bytes: int = MAX_SIGNATURE_BYTES,
) -> Attestation:
    """Attest ``subject`` with ``predicate`` of ``predicate_type``, signed by ``signer`` (see the module docstring).

    ``max_bytes``: the stored document (bundle or envelope) must be at most this large, the cap ``verify-attestation``
    reads attestations under (``SUPPLYCHAIN_MAX_SIGNATURE_SIZE``); a larger one is refused before anything is
    signed, logged or stored. With ``upload=False`` nothing is stored (the log still records the attestation).
    ``log`` is where an ``EnvelopeSigner``'s envelope is logged; a ``KeylessSigner`` logs in its own Rekor.
    """
    statement = build_statement(docker_reference, subject.digest, predicate_type=predicate_type, predicate=predicate)
    signed = _sign(statement, signer, log, max_bytes)
    made = Attestation(subject, attestation_format, predicate_type, statement, signed.envelope, None, None,
                       tlog_entry=signed.entry, log_url=signed.log_url)
    match attestation_format:
        case AttestationFormat.BUNDLE:
            return _store_bundle(store, made, signed.bundle, clock, upload)
        case AttestationFormat.LEGACY:
            return _store_legacy(store, made, signed.certificate_annotations, upload, sleep)
        case _:
            assert_never(attestation_format)


@dataclass(frozen=True, slots=True)
class _Signed:
    """A signed statement, whoever signed it: its envelope, log entry, v0.3 bundle, and the certificate
    annotations a legacy ``.att`` layer carries."""

    envelope: Envelope
    entry: RekorEntry | None
    bundle: bytes
    certificate_annotations: dict[str, str]
    log_url: str | None


def _sign(statement: bytes, signer: EnvelopeSigner | KeylessSigner, log: SigningLog | None,
          max_bytes: int) -> _Signed:
    from supplychain.signing.keyless import KeylessSigner

    if not isinstance(signer, KeylessSigner):
        envelope, entry = sign_statement(statement, signer, log, max_bytes=max_bytes)
        certificate = signer.certificate
        return _Signed(envelope, entry, attestation_bundle(envelope, signer, entry),
                       {} if certificate is None else certificate.annotations(), None if log is None else log.url)
    if log is not None:
        raise ValueError("a keyless signer logs in its own Rekor: pass no log")
    from supplychain.tlog.evidence import bundle_entries

    _check_size(statement, max_bytes)
    keyless = signer.sign_statement(statement)
    parsed = keyless.parsed
    assert parsed.envelope is not None  # sign_statement signs a DSSE envelope
    annotations = keyless.annotations()
    entries = bundle_entries(parsed)  # none only where the signing config has a TSA and no log
    return _Signed(parsed.envelope, entries[0] if entries else None, keyless.bundle, annotations,
                   signer.config.rekor_url)


def _check_size(statement: bytes, max_bytes: int) -> None:
    """Refuse a statement whose envelope would be over ``max_bytes`` (base64 grows it by 4/3): it could not be read
    back."""
    if len(statement) * 4 // 3 > max_bytes:
        raise PredicateError(
            f"the attestation would be about {len(statement) * 4 // 3} bytes, over the {max_bytes}-byte limit "
            "attestations are read under",
            hint="raise SUPPLYCHAIN_MAX_SIGNATURE_SIZE (for verifiers too), or attest a smaller predicate",
        )


def sign_statement(statement: bytes, signer: EnvelopeSigner, log: SigningLog | None, *,
                   max_bytes: int = MAX_SIGNATURE_BYTES) -> tuple[Envelope, RekorEntry | None]:
    """``statement`` in a DSSE envelope signed by ``signer`` and, with ``log``, recorded there as a ``dsse`` entry
    (with the signer's certificate, when it has one, as cosign logs it); refused first when its envelope would be
    over ``max_bytes`` (base64 grows the statement by 4/3), which could not be read back."""
    _check_size(statement, max_bytes)
    unsigned = Envelope(statement, IN_TOTO_PAYLOAD_TYPE, ())
    envelope = Envelope(statement, IN_TOTO_PAYLOAD_TYPE, (DsseSignature(signer.sign(unsigned.signed_bytes)),))
    if log is None:
        return envelope, None
    from supplychain.signing.transparency import log_envelope

    certificate = signer.certificate
    verifier = None if certificate is None else certificate.leaf_pem.encode("ascii")
    return envelope, log_envelope(log, envelope, signer.public_key, verifier_pem=verifier)


def attestation_bundle(envelope: Envelope, signer: EnvelopeSigner, entry: RekorEntry | None) -> bytes:
    """The v0.3 bundle of a signed envelope: the signer's key hint (or certificate) and the log entry, if any."""
    tlog_entries = []
    if entry is not None:
        from supplychain.tlog.evidence import bundle_tlog_entry

        tlog_entries.append(bundle_tlog_entry(entry))
    certificate = signer.certificate
    return build_bundle(envelope, key_hint(signer.public_key), tlog_entries,
                        certificate=None if certificate is None else certificate.leaf_der)


def attest_blob(digest: Digest, size: int, name: str, signer: EnvelopeSigner | KeylessSigner, *,
                predicate_type: str, predicate: Any, log: SigningLog | None = None,
                max_bytes: int = MAX_SIGNATURE_BYTES) -> Attestation:
    """``attest-blob``: an attestation of the file of ``size`` bytes whose SHA-256 is ``digest``, named ``name``
    (cosign names the subject by the file's base name), as a v0.3 bundle (``Attestation.bundle``) for the caller to
    write; nothing is stored."""
    statement = build_statement(name, digest, predicate_type=predicate_type, predicate=predicate)
    signed = _sign(statement, signer, log, max_bytes)
    subject = Descriptor("application/octet-stream", digest, size)
    return Attestation(subject, AttestationFormat.BUNDLE, predicate_type, statement, signed.envelope,
                       signed.bundle, None, tlog_entry=signed.entry, log_url=signed.log_url)


def _store_bundle(store: ArtifactStore, made: Attestation, bundle: bytes, clock: Clock,
                  upload: bool) -> Attestation:
    referrer = bundle_referrer(bundle, made.subject, made.predicate_type, clock())
    if upload:
        for desc, content in ((EMPTY_DESCRIPTOR, EMPTY_JSON), (referrer.layers[0], bundle)):
            store.put_blob(desc, [content])  # skipped when present
        store.put_manifest(referrer)
    return replace(made, bundle=bundle, artifact=referrer.descriptor() if upload else None)


def attestation_layer(envelope: Envelope, predicate_type: str, extra: Mapping[str, str] | None = None
                      ) -> tuple[Descriptor, bytes]:
    """cosign's ``.att`` layer of ``envelope``: its descriptor (DSSE media type, ``predicateType`` annotation and
    ``extra``) and its blob, the envelope JSON as cosign writes it."""
    blob = gojson.encode(envelope.to_go_json(), sort_keys=False)
    annotations = {ATTESTATION_PREDICATE_TYPE_ANNOTATION: predicate_type, **(extra or {})}
    return Descriptor.for_bytes(ENVELOPE_MEDIA_TYPE, blob, annotations=annotations), blob


def _store_legacy(store: ArtifactStore, made: Attestation, certificate_annotations: dict[str, str], upload: bool,
                  sleep: Sleep) -> Attestation:
    extra = dict(certificate_annotations)
    if made.tlog_entry is not None:
        from supplychain.formats.rekor import REKOR_BUNDLE_ANNOTATION
        from supplychain.signing.transparency import rekor_bundle_annotation

        extra[REKOR_BUNDLE_ANNOTATION] = rekor_bundle_annotation(made.tlog_entry)
    layer, blob = attestation_layer(made.envelope, made.predicate_type, extra)
    tag = attachment_tag(made.subject.digest, AttachmentKind.ATTESTATION)
    if not upload:
        return replace(made, tag=tag)
    appended = append_layers(store, tag, [layer], {layer.digest: blob}, sleep=sleep)
    return replace(made, tag=tag, artifact=appended.manifest)


__all__ = [
    "Attestation",
    "AttestationFormat",
    "EnvelopeSigner",
    "KeySigner",
    "PredicateError",
    "attest_blob",
    "attest_image",
    "attestation_bundle",
    "attestation_layer",
    "build_predicate",
    "sign_statement",
]
