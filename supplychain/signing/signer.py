"""``sign_image``: sign a digest and store the signature artifact, legacy tag or Sigstore bundle referrer.

Store-agnostic (STYLE.md section 1): it receives an ``ArtifactStore`` and a resolved descriptor, never a tag
(the CLI resolves once, at the edge). Work happens in two phases so that nothing is written half-way: first
every signature is made and every artifact built (reading what is already stored, refusing what we must not
append to), then, only if all of that succeeded and ``upload`` is set, each artifact is written blobs first and
manifest last (a manifest never points at a missing blob; a failed write leaves at most unreferenced blobs).

No transparency-log entry is made (a later issue adds Rekor); bundles carry ``tlogEntries: []``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import assert_never

from supplychain.digest import Digest
from supplychain.errors import NotFoundError
from supplychain.keys import PrivateKey
from supplychain.limits import MAX_LAYERS
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, Index, Manifest
from supplychain.oci.store import ArtifactStore
from supplychain.signing import legacy
from supplychain.signing.bundle import build_bundle, bundle_referrer, key_hint
from supplychain.signing.dsse import IN_TOTO_PAYLOAD_TYPE, DsseSignature, Envelope
from supplychain.signing.error import SignatureTagError
from supplychain.signing.payload import build_payload
from supplychain.signing.signature import create_signature, signature_verifies
from supplychain.signing.statement import COSIGN_SIGN_PREDICATE, build_statement

Clock = Callable[[], datetime]
MAX_RECURSION_DEPTH = 4  # index -> index -> manifest is already unusual


class SignatureFormat(StrEnum):
    """Where and how a signature is stored."""

    LEGACY = "legacy"  # cosign v1/v2: a layer of the sha256-<hex>.sig manifest
    BUNDLE = "bundle"  # cosign v3: a Sigstore bundle v0.3 in an OCI 1.1 referrer


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SignedImage:
    """One signed digest: what was signed, the signature, and where it was stored."""

    subject: Descriptor
    signature_format: SignatureFormat
    payload: bytes  # the signed document: simple-signing payload (legacy) or in-toto statement (bundle)
    signature: bytes  # raw signature (legacy: over the payload; bundle: over the DSSE PAE)
    bundle: bytes | None  # the bundle JSON (bundle format)
    artifact: Descriptor | None  # the manifest written (None: nothing uploaded)
    tag: str | None  # the .sig tag (legacy)
    already_present: bool = False  # legacy: an equal signature by the same key was already there


@dataclass(frozen=True, slots=True)
class SignResult:
    """Every digest signed by one ``sign_image`` call, the requested one first."""

    images: tuple[SignedImage, ...]
    uploaded: bool


@dataclass(frozen=True, slots=True)
class _Plan:
    image: SignedImage
    blobs: tuple[tuple[Descriptor, bytes], ...]
    manifest: Manifest | None
    tag: str | None


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
) -> SignResult:
    """Sign ``subject`` (and with ``recursive``, every manifest of an index) in ``store``.

    ``docker_reference`` is the name signed as the identity (simple-signing ``docker-reference``, statement
    subject ``name``); ``annotations`` are signed with it. ``clock`` stamps bundle referrers
    (``org.opencontainers.image.created``). With ``upload=False`` nothing is written; the result still holds
    payloads and signatures.
    """
    claims = dict(annotations or {})
    targets = _targets(store, subject) if recursive else [subject]
    plans = [
        _plan(store, target, private_key, docker_reference, claims, signature_format, clock, upload)
        for target in targets
    ]
    if upload:
        for plan in plans:
            _write(store, plan)
    return SignResult(tuple(plan.image for plan in plans), upload)


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


def _plan(
    store: ArtifactStore,
    subject: Descriptor,
    private_key: PrivateKey,
    docker_reference: str,
    annotations: dict[str, str],
    signature_format: SignatureFormat,
    clock: Clock,
    upload: bool,
) -> _Plan:
    match signature_format:
        case SignatureFormat.LEGACY:
            return _plan_legacy(store, subject, private_key, docker_reference, annotations, upload)
        case SignatureFormat.BUNDLE:
            return _plan_bundle(subject, private_key, docker_reference, annotations, clock)
        case _:
            assert_never(signature_format)


def _plan_legacy(
    store: ArtifactStore,
    subject: Descriptor,
    private_key: PrivateKey,
    docker_reference: str,
    annotations: dict[str, str],
    upload: bool,
) -> _Plan:
    payload = build_payload(docker_reference, subject.digest, annotations)
    signature = create_signature(private_key, payload)
    tag = attachment_tag(subject.digest, AttachmentKind.SIGNATURE)
    image = SignedImage(subject, SignatureFormat.LEGACY, payload, signature, None, None, tag)
    if not upload:
        return _Plan(image, (), None, tag)
    existing = _existing_layers(store, tag)
    layer = legacy.signature_layer(payload, signature)
    public_key = private_key.public_key()
    if legacy.has_signature(existing, layer.digest, payload, lambda s, p: signature_verifies(public_key, s, p)):
        present = store.resolve(tag)
        return _Plan(replace(image, artifact=present, already_present=True), (), None, tag)
    if len(existing) >= MAX_LAYERS:
        raise SignatureTagError(
            f"{store.name}:{tag} already holds {len(existing)} layers, the most a manifest may have",
            hint="remove old signatures (supplychain clean --type signature) before signing again",
        )
    manifest, config = legacy.build_signature_manifest([*existing, layer])
    blobs = ((manifest.config, config), (layer, payload))
    return _Plan(replace(image, artifact=manifest.descriptor()), blobs, manifest, tag)


def _existing_layers(store: ArtifactStore, tag: str) -> list[Descriptor]:
    """The layers of the ``.sig`` manifest already at ``tag`` (none if the tag is absent)."""
    try:
        current = store.get_manifest(tag)
    except NotFoundError:
        return []
    if not isinstance(current, Manifest):
        raise SignatureTagError(f"{store.name}:{tag} holds an image index, not a signature manifest")
    return list(current.layers)


def _plan_bundle(
    subject: Descriptor,
    private_key: PrivateKey,
    docker_reference: str,
    annotations: dict[str, str],
    clock: Clock,
) -> _Plan:
    statement = build_statement(docker_reference, subject.digest, annotations)
    unsigned = Envelope(statement, IN_TOTO_PAYLOAD_TYPE, ())
    signature = create_signature(private_key, unsigned.signed_bytes)
    envelope = Envelope(statement, IN_TOTO_PAYLOAD_TYPE, (DsseSignature(signature),))
    bundle = build_bundle(envelope, key_hint(private_key.public_key()))
    referrer = bundle_referrer(bundle, subject, COSIGN_SIGN_PREDICATE, clock())
    image = SignedImage(subject, SignatureFormat.BUNDLE, statement, signature, bundle, referrer.descriptor(), None)
    blobs = ((EMPTY_DESCRIPTOR, EMPTY_JSON), (referrer.layers[0], bundle))
    return _Plan(image, blobs, referrer, None)


def _write(store: ArtifactStore, plan: _Plan) -> None:
    if plan.manifest is None:
        return
    for desc, content in plan.blobs:
        if not store.has_blob(desc.digest):
            store.put_blob(desc, [content])
    store.put_manifest(plan.manifest, tag=plan.tag)
