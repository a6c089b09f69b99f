"""``sign_image``: sign a digest and store the signature artifact, legacy tag or Sigstore bundle referrer.

Store-agnostic (STYLE.md section 1): it receives an ``ArtifactStore`` and a resolved descriptor, never a tag
(the CLI resolves once, at the edge). Work happens in phases so that nothing is written half-way:

1. every signature is made (reading what is already stored, refusing what we must not append to);
2. with a transparency log (``log``: a ``RekorClient`` or the embedded default log, a ``SigningLog``), each
   signature is logged: a ``hashedrekord`` entry for a legacy layer, a ``dsse`` entry for a bundle
   (``signing.transparency``). The log is written to *before* the
   store, so a signature never sits in the store without its log evidence; a log that cannot be reached stops
   everything with nothing stored (an entry already logged for another manifest of ``--recursive`` is harmless);
3. the artifacts are built with the log's evidence (the ``dev.sigstore.cosign/bundle`` annotation, the bundle's
   ``tlogEntries``) and, only if ``upload`` is set, written blobs first and manifest last (a manifest never points
   at a missing blob; a failed write leaves at most unreferenced blobs). A legacy layer is appended by
   ``signing.writer``: the ``.sig`` manifest is read again right before the put, and the put is confirmed by
   reading it back, so a concurrent signer cannot silently drop our signature (or we theirs).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, assert_never

from supplychain.clock import Clock, utc_now
from supplychain.digest import Digest
from supplychain.formats.dsse import IN_TOTO_PAYLOAD_TYPE, DsseSignature, Envelope
from supplychain.formats.intoto import COSIGN_SIGN_PREDICATE, build_statement
from supplychain.keys import PrivateKey, PublicKey
from supplychain.limits import MAX_LAYERS
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Index, Manifest
from supplychain.oci.store import ArtifactStore
from supplychain.oci.tagwriter import Sleep
from supplychain.parallel import ordered_map
from supplychain.signing import legacy
from supplychain.signing.attach import SigningCertificate
from supplychain.signing.bundle import build_bundle, bundle_referrer, key_hint
from supplychain.signing.error import SignatureTagError
from supplychain.signing.payload import build_payload
from supplychain.signing.signature import create_signature, signature_verifies
from supplychain.signing.writer import append_signature_layer, read_signature_layers

if TYPE_CHECKING:  # the log's modules load only when a log is used: sign --tlog-upload=false never imports them
    from supplychain.signing.keyless import KeylessSigner
    from supplychain.signing.transparency import SigningLog
    from supplychain.tlog.evidence import RekorEntry

MAX_RECURSION_DEPTH = 4  # index -> index -> manifest is already unusual


class SignatureFormat(StrEnum):
    """Where and how a signature is stored."""

    LEGACY = "legacy"  # cosign v1/v2: a layer of the sha256-<hex>.sig manifest
    BUNDLE = "bundle"  # cosign v3: a Sigstore bundle v0.3 in an OCI 1.1 referrer


@dataclass(frozen=True, slots=True)
class SignedImage:
    """One signed digest: what was signed, the signature, where it was stored, and its log entry."""

    subject: Descriptor
    signature_format: SignatureFormat
    payload: bytes  # the signed document: simple-signing payload (legacy) or in-toto statement (bundle)
    signature: bytes  # raw signature (legacy: over the payload; bundle: over the DSSE PAE)
    bundle: bytes | None  # the bundle JSON (bundle format)
    artifact: Descriptor | None  # the manifest written (None: nothing uploaded)
    tag: str | None  # the .sig tag (legacy)
    already_present: bool = False  # legacy: an equal signature by the same key was already there
    tlog_entry: RekorEntry | None = None  # the transparency-log entry made for this signature


@dataclass(frozen=True, slots=True)
class SignResult:
    """Every digest signed by one ``sign_image`` call, the requested one first."""

    images: tuple[SignedImage, ...]
    uploaded: bool
    log_url: str | None = None  # the transparency log the signatures were recorded in


@dataclass(frozen=True, slots=True)
class _Signed:
    """Phase 1: a signature made, with what the store already holds (legacy), before the log sees it."""

    subject: Descriptor
    signature_format: SignatureFormat
    payload: bytes
    signature: bytes
    envelope: Envelope | None = None  # bundle
    tag: str | None = None  # legacy
    present: Descriptor | None = None  # legacy: the stored manifest that already holds this signature
    read: tuple[Manifest | None, list[Descriptor]] | None = None  # legacy: the .sig tag as phase 1 read it


@dataclass(frozen=True, slots=True)
class _Plan:
    image: SignedImage
    blobs: tuple[tuple[Descriptor, bytes], ...] = ()  # bundle: the referrer's blobs
    manifest: Manifest | None = None  # bundle: the referrer manifest
    layer: Descriptor | None = None  # legacy: the layer to append to the .sig manifest (blob: image.payload)
    read: tuple[Manifest | None, list[Descriptor]] | None = None  # legacy: the .sig tag as phase 1 read it


def sign_image(
    store: ArtifactStore,
    subject: Descriptor,
    private_key: PrivateKey,
    *,
    docker_reference: str,
    annotations: Mapping[str, str] | None = None,
    signature_format: SignatureFormat = SignatureFormat.LEGACY,
    recursive: bool = False,
    upload: bool = True,
    clock: Clock = utc_now,
    log: SigningLog | None = None,
    sleep: Sleep = time.sleep,
    certificate: SigningCertificate | None = None,
    concurrency: int = 1,
) -> SignResult:
    """Sign ``subject`` (and with ``recursive``, every manifest of an index) in ``store``.

    ``docker_reference`` is the name signed as the identity (simple-signing ``docker-reference``, statement
    subject ``name``); ``annotations`` are signed with it. ``clock`` stamps bundle referrers
    (``org.opencontainers.image.created``). With ``log``, every new signature is recorded in that transparency log
    before anything is stored (see the module docstring). With ``upload=False`` nothing is written to the store;
    the result still holds payloads, signatures, bundles and log entries. ``sleep`` waits between the rounds of a
    legacy append that raced another writer (``signing.writer``; never without a race); it raises
    ``SignatureWriteError`` when concurrent writers kept overwriting the ``.sig`` tag, never reporting a lost
    signature as stored.

    ``certificate`` (BYO PKI, ``signing.attach.signing_certificate``, already checked against the key) is stored
    as cosign stores it: the ``dev.sigstore.cosign/certificate`` and ``.../chain`` layer annotations (legacy), or
    the bundle's ``verificationMaterial.certificate`` (bundle v0.3 carries the leaf only), and it is what the log
    records instead of the bare public key.

    With ``recursive``, the manifests are signed (their ``.sig`` tags read) and stored ``concurrency`` at a time:
    each has tags of its own, so they are independent; the log records them one after another, in order, and the
    result lists them in the order of the index whatever finished first.
    """
    if log is not None:
        from supplychain.signing.transparency import check_loggable

        check_loggable(private_key, legacy=signature_format is SignatureFormat.LEGACY)
    claims = dict(annotations or {})
    targets = _targets(store, subject) if recursive else [subject]
    public_key = private_key.public_key()
    signed = list(ordered_map(lambda target: _sign(store, target, private_key, docker_reference, claims,
                                                   signature_format, upload, log is not None, sleep,
                                                   certificate is not None),
                              targets, concurrency))
    entries = [None if log is None or item.present is not None else _log(log, item, public_key, certificate)
               for item in signed]
    plans = [_assemble(item, entry, public_key, clock, upload, certificate)
             for item, entry in zip(signed, entries, strict=True)]
    images = (list(ordered_map(lambda plan: _write(store, plan, sleep), plans, concurrency)) if upload
              else [plan.image for plan in plans])
    return SignResult(tuple(images), upload, None if log is None else log.url)


def sign_image_keyless(
    store: ArtifactStore,
    subject: Descriptor,
    signer: KeylessSigner,
    *,
    docker_reference: str,
    annotations: Mapping[str, str] | None = None,
    signature_format: SignatureFormat = SignatureFormat.BUNDLE,
    recursive: bool = False,
    upload: bool = True,
    clock: Clock = utc_now,
    sleep: Sleep = time.sleep,
    concurrency: int = 1,
) -> SignResult:
    """``sign_image`` with a keyless signer (``signing.keyless``: an ephemeral key certified by Fulcio): every
    signature is logged by the signer before anything is stored (it refuses to sign without a log entry), and
    stored as cosign v3 stores it: the v0.3 bundle referrer carrying the certificate (``BUNDLE``, the default, as
    cosign v3), or a layer of the ``.sig`` manifest with the certificate, chain and Rekor bundle annotations
    (``LEGACY``). An ephemeral key never signed before, so there is no duplicate to find. The signatures are made
    one after another (each is a log entry); they are stored ``concurrency`` at a time."""
    claims = dict(annotations or {})
    targets = _targets(store, subject) if recursive else [subject]
    plans = [_keyless_plan(store, target, signer, docker_reference, claims, signature_format, upload, clock, sleep)
             for target in targets]
    images = (list(ordered_map(lambda plan: _write(store, plan, sleep), plans, concurrency)) if upload
              else [plan.image for plan in plans])
    return SignResult(tuple(images), upload, signer.config.rekor_url)


def _keyless_plan(store: ArtifactStore, subject: Descriptor, signer: KeylessSigner, docker_reference: str,
                  annotations: dict[str, str], signature_format: SignatureFormat, upload: bool, clock: Clock,
                  sleep: Sleep) -> _Plan:
    from supplychain.signing.keyless import KeylessSigningError
    from supplychain.signing.transparency import rekor_bundle_annotation
    from supplychain.tlog.evidence import bundle_entries

    match signature_format:
        case SignatureFormat.BUNDLE:
            statement = build_statement(docker_reference, subject.digest, annotations)
            signed = signer.sign_statement(statement)
            entries = bundle_entries(signed.parsed)  # none only where the signing config has a TSA and no log
            entry = entries[0] if entries else None
            referrer = bundle_referrer(signed.bundle, subject, COSIGN_SIGN_PREDICATE, clock())
            image = SignedImage(subject, signature_format, statement, signed.signature, signed.bundle,
                                referrer.descriptor(), None, tlog_entry=entry)
            return _Plan(image, ((EMPTY_DESCRIPTOR, EMPTY_JSON), (referrer.layers[0], signed.bundle)), referrer)
        case SignatureFormat.LEGACY:
            payload = build_payload(docker_reference, subject.digest, annotations)
            tag = attachment_tag(subject.digest, AttachmentKind.SIGNATURE)
            read = read_signature_layers(store, tag, sleep=sleep) if upload else None
            if read is not None:
                _check_room(store, tag, read[1])
            signed = signer.sign_message(payload)
            entries = bundle_entries(signed.parsed)
            if not entries:  # cosign's legacy layer carries a log entry (its Rekor bundle annotation), not a TSA's
                raise KeylessSigningError("--format legacy needs a transparency-log entry, and the signing config "
                                          "names no log", hint="use --format bundle, or a signing config with a Rekor")
            entry = entries[0]
            extra = signed.annotations()
            extra[_rekor_bundle_annotation()] = rekor_bundle_annotation(entry)
            image = SignedImage(subject, signature_format, payload, signed.signature, None, None, tag,
                                tlog_entry=entry)
            return _Plan(image, layer=legacy.signature_layer(payload, signed.signature, extra) if upload else None,
                         read=read)
        case _:
            assert_never(signature_format)


def _targets(store: ArtifactStore, root: Descriptor) -> list[Descriptor]:
    """``root`` and, below an index, every manifest and index it lists (depth-first, each digest once)."""
    seen: set[Digest] = set()
    out: list[Descriptor] = []

    def visit(desc: Descriptor, depth: int) -> None:
        if desc.digest in seen:
            return
        seen.add(desc.digest)
        out.append(desc)
        if not desc.is_index or depth >= MAX_RECURSION_DEPTH:
            return
        index = store.get_manifest(desc)
        if isinstance(index, Index):
            for child in index.manifests:
                if child.is_index or child.is_manifest:
                    visit(child, depth + 1)

    visit(root, 0)
    return out


def _sign(
    store: ArtifactStore,
    subject: Descriptor,
    private_key: PrivateKey,
    docker_reference: str,
    annotations: dict[str, str],
    signature_format: SignatureFormat,
    upload: bool,
    logged: bool,
    sleep: Sleep,
    certified: bool = False,
) -> _Signed:
    match signature_format:
        case SignatureFormat.LEGACY:
            return _sign_legacy(store, subject, private_key, docker_reference, annotations, upload, logged, sleep,
                                certified)
        case SignatureFormat.BUNDLE:
            statement = build_statement(docker_reference, subject.digest, annotations)
            unsigned = Envelope(statement, IN_TOTO_PAYLOAD_TYPE, ())
            signature = create_signature(private_key, unsigned.signed_bytes)
            envelope = Envelope(statement, IN_TOTO_PAYLOAD_TYPE, (DsseSignature(signature),))
            return _Signed(subject, SignatureFormat.BUNDLE, statement, signature, envelope=envelope)
        case _:
            assert_never(signature_format)


def _sign_legacy(
    store: ArtifactStore,
    subject: Descriptor,
    private_key: PrivateKey,
    docker_reference: str,
    annotations: dict[str, str],
    upload: bool,
    logged: bool,
    sleep: Sleep,
    certified: bool = False,
) -> _Signed:
    payload = build_payload(docker_reference, subject.digest, annotations)
    signature = create_signature(private_key, payload)
    tag = attachment_tag(subject.digest, AttachmentKind.SIGNATURE)
    signed = _Signed(subject, SignatureFormat.LEGACY, payload, signature, tag=tag)
    if not upload:
        return signed
    read = read_signature_layers(store, tag, sleep=sleep)
    current, existing = read
    public_key = private_key.public_key()
    digest = Descriptor.for_bytes(legacy.SIMPLE_SIGNING_MEDIA_TYPE, payload).digest
    # With a log, a stored duplicate counts only if it carries its Rekor bundle (else this signing adds one); with
    # a certificate, only if it carries a certificate.
    required = (_rekor_bundle_annotation() if logged
                else legacy.CERTIFICATE_ANNOTATIONS[0] if certified else None)
    if legacy.has_signature(existing, digest, payload, lambda s, p: signature_verifies(public_key, s, p),
                            required_annotation=required):
        assert current is not None  # it holds the signature
        return replace(signed, present=current.descriptor())
    _check_room(store, tag, existing)
    return replace(signed, read=read)


def _check_room(store: ArtifactStore, tag: str, existing: list[Descriptor]) -> None:
    """Refuse to append to a ``.sig`` manifest that already holds the most layers a manifest may have."""
    if len(existing) >= MAX_LAYERS:
        raise SignatureTagError(
            f"{store.name}:{tag} already holds {len(existing)} layers, the most a manifest may have",
            hint="remove old signatures (supplychain clean --type signature) before signing again",
        )


def _log(log: SigningLog, item: _Signed, public_key: PublicKey, certificate: SigningCertificate | None) -> RekorEntry:
    """Phase 2: record one signature in the transparency log (with the certificate, when there is one, as cosign
    logs it: verification then requires the entry to record that certificate)."""
    from supplychain.signing.transparency import log_envelope, log_legacy_signature

    verifier = None if certificate is None else certificate.leaf_pem.encode("ascii")
    if item.envelope is not None:
        return log_envelope(log, item.envelope, public_key, verifier_pem=verifier)
    return log_legacy_signature(log, item.payload, item.signature, public_key, verifier_pem=verifier)


def _assemble(item: _Signed, entry: RekorEntry | None, public_key: PublicKey, clock: Clock, upload: bool,
              certificate: SigningCertificate | None = None) -> _Plan:
    """Phase 3: the artifact to store for one signature, with the log's evidence (legacy: the layer only; the
    ``.sig`` manifest depends on what is stored when it is written)."""
    image = SignedImage(item.subject, item.signature_format, item.payload, item.signature, None, None, item.tag,
                        tlog_entry=entry)
    if item.envelope is not None:
        tlog_entries = []
        if entry is not None:
            from supplychain.tlog.evidence import bundle_tlog_entry

            tlog_entries.append(bundle_tlog_entry(entry))
        bundle = build_bundle(item.envelope, key_hint(public_key), tlog_entries,
                              certificate=None if certificate is None else certificate.leaf_der)
        referrer = bundle_referrer(bundle, item.subject, COSIGN_SIGN_PREDICATE, clock())
        blobs = ((EMPTY_DESCRIPTOR, EMPTY_JSON), (referrer.layers[0], bundle))
        return _Plan(replace(image, bundle=bundle, artifact=referrer.descriptor()), blobs, referrer)
    if item.present is not None:
        return _Plan(replace(image, artifact=item.present, already_present=True))
    if not upload:
        return _Plan(image)
    extra = {} if certificate is None else certificate.annotations()
    if entry is not None:
        from supplychain.signing.transparency import rekor_bundle_annotation

        extra[_rekor_bundle_annotation()] = rekor_bundle_annotation(entry)
    return _Plan(image, layer=legacy.signature_layer(item.payload, item.signature, extra or None), read=item.read)


def _write(store: ArtifactStore, plan: _Plan, sleep: Sleep) -> SignedImage:
    """Store one plan's artifact; the image as stored (legacy: with the ``.sig`` manifest written)."""
    if plan.manifest is not None:
        for desc, content in plan.blobs:
            store.put_blob(desc, [content])  # skipped when present (one HEAD)
        store.put_manifest(plan.manifest)
        return plan.image
    if plan.layer is None or plan.image.tag is None:
        return plan.image
    appended = append_signature_layer(store, plan.image.tag, plan.layer, plan.image.payload, sleep=sleep,
                                      current=plan.read)
    return replace(plan.image, artifact=appended.manifest, already_present=appended.already_present)


def _rekor_bundle_annotation() -> str:
    """cosign's ``dev.sigstore.cosign/bundle`` annotation name (from ``formats.rekor``, loaded only with a log)."""
    from supplychain.formats.rekor import REKOR_BUNDLE_ANNOTATION

    return REKOR_BUNDLE_ANNOTATION
