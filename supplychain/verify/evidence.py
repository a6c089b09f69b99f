"""Gather the signatures of one digest from a store: both places cosign keeps them, always both.

1. OCI 1.1 referrers whose artifact type is a Sigstore bundle media type of any version and spelling
   (``formats.bundle.MEDIA_TYPES``: cosign v3 writes v0.3, ``@sigstore/oci`` the bundle's own, e.g. v0.2; the
   store uses the referrers API or the referrers tag): each is a manifest whose first bundle layer is a bundle.
2. The legacy tag ``sha256-<hex>.sig`` (cosign v1/v2): each ``simplesigning`` layer is one signature.

Both are found by the one attachment locator, ``oci.locate`` (descriptors, and the ``.sig`` manifest).

cosign v3 looks at the ``.sig`` tag only when no parseable bundle exists; we read both, so a broken or hostile
referrer cannot hide a valid legacy signature (and vice versa).

Bounded, and checked from descriptors *before* any blob is read: at most ``max_signatures`` candidate
signatures per image (else none is read and the image gets a problem), at most ``max_layers`` layers in the
``.sig`` manifest (the model refuses more than 1,000 while parsing), and no payload or bundle larger than
``max_signature_bytes`` (1 MiB: refused from its declared size, before download or parse). Every blob read is
digest-checked by the store. ``find_candidates`` looks (descriptors only) and ``read_candidates`` reads the
signatures in order, several small ones at once on a registry (``parallel.ordered_map``: declared sizes within
``READ_AHEAD_BYTES``, 1 MiB), a large one alone, so a caller that checks each and drops it (``verify_image``) holds
that much at once, however many there are (issue 7.4). A referrers listing the store cut at its cap is a warning.

A bundle that is no image signature (an attestation of another predicate type, by its annotation or its
statement; a message signature, which signs some other artifact's digest; a DSSE payload that is no in-toto
statement) is *skipped*, with the reason (``skip``), never silently.

Attestations (``predicate_type`` other than cosign's sign predicate: ``verify-attestation --type``) are gathered the
same way from the same places, with the ``.att`` tag for the ``.sig`` tag: bundle referrers and ``.att`` layers (DSSE
envelopes, cosign's ``predicateType`` layer annotation) of *that* predicate type only; one of another type, by its
annotation or by its signed statement, is skipped with the reason, so a validly signed attestation of another type
can never pass (CVE-2022-35929). What claims to be an attestation of that type and is malformed is a failure with
its reason, not a skip: a DSSE payloadType other than in-toto, more than one DSSE signature (a bundle's envelope
carries exactly one; CVE-2026-39395), an envelope that does not parse. BuildKit's attestation manifests in the
image's index (``oci.locate``) hold unsigned in-toto statements: each is listed as evidence that cannot verify.

Damaged evidence is a *problem* or a per-signature failure, not an exception: the image may still verify through
another signature. That includes JSON nested too deeply for Python's decoder (``RecursionError``, from
whichever reader of a manifest, index or bundle meets it). Only failures to talk to the store at all (network,
authentication) propagate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from supplychain.digest import Digest
from supplychain.errors import IntegrityError, InvalidInputError, NotFoundError
from supplychain.formats.bundle import MEDIA_TYPES, Bundle
from supplychain.formats.dsse import ENVELOPE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, Envelope, parse_envelope
from supplychain.formats.error import InvalidPayloadError
from supplychain.formats.intoto import COSIGN_SIGN_PREDICATE, parse_statement
from supplychain.limits import DEFAULT_MAX_SIGNATURES, MAX_LAYERS, MAX_MANIFEST_BYTES, MAX_SIGNATURE_BYTES
from supplychain.oci.attachment import (
    ATTESTATION_PREDICATE_TYPE_ANNOTATION,
    BUNDLE_PREDICATE_TYPE_ANNOTATION,
    AttachmentKind,
    attachment_tag,
)
from supplychain.oci.locate import Attachment, buildkit_attestations, describe, locate
from supplychain.oci.model import AnyManifest, Descriptor, Manifest
from supplychain.oci.store import ArtifactStore, read_concurrency
from supplychain.parallel import ordered_map
from supplychain.signing import legacy
from supplychain.verify.result import EvidenceSource

# What read failures turn into a reason instead of an error: bad bytes, bad documents (RecursionError: nested
# too deeply for a JSON reader of a layer below that does not refuse it itself), missing blobs.
_EVIDENCE_ERRORS = (IntegrityError, InvalidInputError, NotFoundError, RecursionError)


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on what one image's evidence may make us read."""

    max_signatures: int = DEFAULT_MAX_SIGNATURES
    max_layers: int = MAX_LAYERS
    max_signature_bytes: int = MAX_SIGNATURE_BYTES  # a .sig layer's payload or a bundle, read whole


class PayloadKind(StrEnum):
    """What the signed document is."""

    SIMPLE_SIGNING = "simple-signing"  # legacy layer: the signature covers the payload bytes
    IN_TOTO = "in-toto"  # bundle: the signature covers DSSE PAE(payloadType, statement)
    MESSAGE = "message"  # bundle messageSignature (a blob): the signature covers the artifact, through its digest


@dataclass(frozen=True, slots=True)
class SignatureEvidence:
    """One signature as found, before any check: the signed bytes, the signature, or why it is unreadable."""

    source: EvidenceSource
    location: str
    kind: PayloadKind
    payload: bytes | None = None  # the claims document (simple-signing payload or in-toto statement; b"" for a
    # message signature, whose claim is the bundle's messageDigest)
    signed_bytes: bytes | None = None  # what the signature covers (a message signature: the artifact's digest)
    signature: bytes | None = None
    problem: str | None = None  # set when the evidence could not be read; then nothing else is
    # Layer (legacy) or manifest (referrer) annotations: certificates, Rekor bundles, for later checks.
    annotations: Mapping[str, str] = field(default_factory=dict)
    bundle: Bundle | None = None  # the referrer's bundle, parsed once: later checks read it, never the bytes
    skip: str | None = None  # set when the attachment is readable but no image signature: why it is skipped
    envelope: Envelope | None = None  # in-toto evidence: the DSSE envelope (what verify-attestation prints)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything found for one digest."""

    subject: Digest
    signatures: tuple[SignatureEvidence, ...]
    problems: tuple[str, ...] = ()
    skipped: int = 0  # non-signature attachments: other layer media types, other bundle predicates
    warnings: tuple[str, ...] = ()  # not a reason to fail: a referrers listing cut at the store's cap
    skipped_reasons: tuple[str, ...] = ()  # "<location>: <why>" of each skipped attachment


@dataclass(frozen=True, slots=True)
class Candidates:
    """The signatures of one digest as descriptors, nothing read yet (``read_candidates`` reads them).

    ``layers``: ``(index, layer)`` of the ``.sig`` manifest at ``tag``; ``referrers``: the signature bundle
    referrers. Both empty when there were more than ``max_signatures`` (then ``problems`` says so).
    """

    subject: Digest
    tag: str
    layers: tuple[tuple[int, Descriptor], ...]
    referrers: tuple[Descriptor, ...]
    problems: tuple[str, ...] = ()
    skipped: int = 0
    warnings: tuple[str, ...] = ()
    skipped_reasons: tuple[str, ...] = ()  # "<location>: <why>" of each attachment skipped from its descriptor
    predicate_type: str = COSIGN_SIGN_PREDICATE  # what is wanted: image signatures, or attestations of this type
    buildkit: tuple[Attachment, ...] = ()  # BuildKit attestation manifests (attestations only): unsigned

    @property
    def attestations(self) -> bool:
        """Whether attestations are wanted (``verify-attestation``), not image signatures."""
        return self.predicate_type != COSIGN_SIGN_PREDICATE


def gather_evidence(store: ArtifactStore, subject: Digest, limits: Limits = Limits(), *,
                    predicate_type: str = COSIGN_SIGN_PREDICATE, index: AnyManifest | None = None) -> Evidence:
    """Find and read the signatures (or attestations of ``predicate_type``) of ``subject`` in ``store``, all held at
    once (see the module docstring; ``verify_image`` streams them instead)."""
    found = find_candidates(store, subject, limits, predicate_type=predicate_type, index=index)
    signatures, skipped = [], list(found.skipped_reasons)
    for item in read_candidates(store, found, limits):
        if item.skip is not None:
            skipped.append(f"{item.location}: {item.skip}")
        else:
            signatures.append(item)
    read_skips = len(skipped) - len(found.skipped_reasons)
    return Evidence(subject, tuple(signatures), found.problems, found.skipped + read_skips, found.warnings,
                    tuple(skipped))


def find_candidates(store: ArtifactStore, subject: Digest, limits: Limits = Limits(), *,
                    predicate_type: str = COSIGN_SIGN_PREDICATE, index: AnyManifest | None = None) -> Candidates:
    """Look for the signatures of ``subject`` (or, with another ``predicate_type``, its attestations of that type):
    descriptors only, counted against ``max_signatures``. ``index``: ``subject``'s own manifest when it is an image
    index, where BuildKit keeps its attestation manifests (attestations only)."""
    wanted = predicate_type
    attestations = wanted != COSIGN_SIGN_PREDICATE
    kind = AttachmentKind.ATTESTATION if attestations else AttachmentKind.SIGNATURE
    # Unfiltered: a listing can filter by one artifactType only, and bundles come in four spellings.
    located = locate(store, subject, tags=(kind,), read_tags=True, max_layers=limits.max_layers)
    problems: list[str] = []
    warnings: list[str] = []
    skipped: list[str] = []
    if located.listing_error is not None:
        problems.append(f"referrers of {subject}: {describe(located.listing_error)}")
    if located.cut is not None:
        warnings.append(located.cut)
    referrers: list[Descriptor] = []
    for found in located.referrers:
        desc = found.descriptor
        if desc.artifact_type not in MEDIA_TYPES:
            continue  # not a bundle: an SBOM, a notation signature... (download and tree list those)
        predicate = desc.annotations.get(BUNDLE_PREDICATE_TYPE_ANNOTATION)
        if predicate is not None and predicate != wanted:
            # An attestation bundle, not an image signature (or one of another type than wanted).
            skipped.append(f"referrer {desc.digest}: {_other_predicate(predicate, wanted)}")
            continue
        referrers.append(found.descriptor)

    tag = attachment_tag(subject, kind)
    problems.extend(located.problems)
    layers: list[tuple[int, Descriptor]] = []
    held = located.tag(kind)
    for i, layer in enumerate(held.layers if held is not None else ()):
        if attestations:
            claimed = layer.annotations.get(ATTESTATION_PREDICATE_TYPE_ANNOTATION)
            if layer.media_type != ENVELOPE_MEDIA_TYPE:
                skipped.append(f"{tag} layer {i}: media type {layer.media_type[:200]!r} is not a DSSE envelope")
            elif claimed is not None and claimed != wanted:
                skipped.append(f"{tag} layer {i}: {_other_predicate(claimed, wanted)}")
            else:
                layers.append((i, layer))
        elif layer.media_type == legacy.SIMPLE_SIGNING_MEDIA_TYPE:
            layers.append((i, layer))
        else:  # containers/image: "sigstore non-signature attachments"
            skipped.append(f"{tag} layer {i}: media type {layer.media_type[:200]!r} is not a simple-signing "
                           "signature")
    buildkit = buildkit_attestations(index, None) if attestations and index is not None else ()

    total = len(referrers) + len(layers)
    if total > limits.max_signatures:
        problems.append(
            f"found {total} signatures ({len(layers)} in {tag}, {len(referrers)} referrers), more than the "
            f"limit of {limits.max_signatures} (--max-signatures): none was read"
        )
        return Candidates(subject, tag, (), (), tuple(problems), len(skipped), tuple(warnings), tuple(skipped),
                          wanted)
    return Candidates(subject, tag, tuple(layers), tuple(referrers), tuple(problems), len(skipped), tuple(warnings),
                      tuple(skipped), wanted, buildkit)


def read_candidates(store: ArtifactStore, found: Candidates, limits: Limits = Limits()
                    ) -> Iterator[SignatureEvidence]:
    """Read the signatures of ``found``, in order: the ``.sig`` layers, then the bundle referrers. Up to the store's
    ``read_concurrency`` reads run at once, a few small documents ahead of the consumer (``parallel.ordered_map``:
    declared sizes within ``READ_AHEAD_BYTES``; a larger one is read alone, so big signatures are still held one at
    a time)."""
    workers = read_concurrency(store)

    def read_layer(item: tuple[int, Descriptor]) -> SignatureEvidence:
        if found.attestations:
            return _read_attestation_layer(store, found.tag, item[0], item[1], limits, found.predicate_type)
        return _read_layer(store, found.tag, item[0], item[1], limits)

    yield from ordered_map(read_layer, found.layers, workers, cost=lambda item: item[1].size)
    manifests = ordered_map(lambda desc: _read_referrer_manifest(store, desc), found.referrers, workers,
                            cost=lambda desc: desc.size)
    yield from ordered_map(lambda read: _read_bundle(store, read, limits, found.predicate_type), manifests, workers,
                           cost=lambda read: read[1].size if read[1] is not None else 0)
    for attachment in found.buildkit:
        yield _unsigned_buildkit(attachment)


def _unsigned_buildkit(attachment: Attachment) -> SignatureEvidence:
    """A BuildKit attestation manifest: in-toto statements as plain layers, with no signature to verify."""
    desc = attachment.descriptor
    about = desc.annotations.get("vnd.docker.reference.digest", "?")
    return SignatureEvidence(EvidenceSource.BUILDKIT, f"BuildKit attestation manifest {desc.digest} (of {about[:80]})",
                             PayloadKind.IN_TOTO,
                             problem="unsigned: BuildKit stores its in-toto statements without a signature, so "
                                     "nothing vouches for them (download attestation shows them)")


def _read_layer(store: ArtifactStore, tag: str, index: int, layer: Descriptor, limits: Limits) -> SignatureEvidence:
    location = f"{tag} layer {index}"
    base = SignatureEvidence(EvidenceSource.LEGACY_TAG, location, PayloadKind.SIMPLE_SIGNING,
                             annotations=dict(layer.annotations))
    value = layer.annotations.get(legacy.SIGNATURE_ANNOTATION)
    if value is None:
        return _failed(base, f"missing {legacy.SIGNATURE_ANNOTATION} annotation")
    try:
        signature = legacy.decode_signature(value)
    except InvalidPayloadError as exc:
        return _failed(base, exc.message)
    if layer.size > limits.max_signature_bytes:
        return _failed(base, _too_large("payload", layer, limits.max_signature_bytes))
    try:
        payload = store.get_blob(layer, limit=limits.max_signature_bytes)
    except _EVIDENCE_ERRORS as exc:
        return _failed(base, f"payload blob: {describe(exc)}")
    return replace(base, payload=payload, signed_bytes=payload, signature=signature)


def _read_referrer_manifest(store: ArtifactStore, desc: Descriptor
                            ) -> tuple[SignatureEvidence, Descriptor | None]:
    """A bundle referrer's manifest read: its evidence so far and the bundle layer to read (``None``: it failed)."""
    base = SignatureEvidence(EvidenceSource.REFERRER, f"referrer {desc.digest}", PayloadKind.IN_TOTO,
                             annotations=dict(desc.annotations))
    if desc.size > MAX_MANIFEST_BYTES:
        return _failed(base, _too_large("referrer manifest", desc, MAX_MANIFEST_BYTES)), None
    try:
        manifest = store.get_manifest(desc)
    except _EVIDENCE_ERRORS as exc:
        return _failed(base, f"referrer manifest: {describe(exc)}"), None
    if not isinstance(manifest, Manifest):
        return _failed(base, "expected an image manifest holding a bundle, got an image index"), None
    layer = next((la for la in manifest.layers if la.media_type in MEDIA_TYPES), None)
    if layer is None:
        return _failed(base, f"expected a layer of a Sigstore bundle media type ({desc.artifact_type}), got none"), None
    return base, layer


def _read_bundle(store: ArtifactStore, read: tuple[SignatureEvidence, Descriptor | None], limits: Limits,
                 predicate_type: str = COSIGN_SIGN_PREDICATE) -> SignatureEvidence:
    base, layer = read
    if layer is None:
        return base
    if layer.size > limits.max_signature_bytes:
        # Refused from the declared size: nothing is downloaded, nothing parsed (SUPPLYCHAIN_MAX_SIGNATURE_SIZE).
        return _failed(base, _too_large("bundle", layer, limits.max_signature_bytes))
    try:
        bundle = Bundle.parse(store.get_blob(layer, limit=limits.max_signature_bytes))
    except _EVIDENCE_ERRORS as exc:
        return _failed(base, f"bundle: {describe(exc)}")
    return bundle_evidence(base, bundle, predicate_type)


def bundle_evidence(base: SignatureEvidence, bundle: Bundle, predicate_type: str = COSIGN_SIGN_PREDICATE
                    ) -> SignatureEvidence:
    """The evidence of a parsed bundle for a signature (or an attestation of ``predicate_type``): its envelope's
    statement and signature, the reason it is skipped, or why it fails (see the module docstring)."""
    envelope = bundle.envelope
    what = f"a v0.{bundle.version} bundle"
    if envelope is None:
        # A message signature signs an artifact's digest, not claims about this image (cosign v3 signs images
        # with a DSSE statement): nothing here says it is an image signature.
        return replace(base, skip=f"a v0.{bundle.version} message-signature bundle: it signs an artifact's digest, "
                                  "not an in-toto statement naming this image")
    return replace(envelope_evidence(base, envelope, predicate_type, what), bundle=bundle)


def envelope_evidence(base: SignatureEvidence, envelope: Envelope, predicate_type: str | None, what: str
                      ) -> SignatureEvidence:
    """The evidence of a DSSE envelope (``what`` names where it is, for reasons): skipped when it is not what is
    wanted, failed when it is malformed, else its statement and signature. ``predicate_type`` ``None`` wants any
    in-toto statement (``verify-blob``: the bundle is the one the user named, so what it holds must be one)."""
    attestations = predicate_type != COSIGN_SIGN_PREDICATE
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        reason = (f"{what} of DSSE payloadType {envelope.payload_type[:200]!r}, not an in-toto statement "
                  f"({IN_TOTO_PAYLOAD_TYPE})")
        # An attestation that is no in-toto statement is malformed (it was stored as one); among image
        # signatures it is some other tool's DSSE document.
        return _failed(base, f"expected payloadType {IN_TOTO_PAYLOAD_TYPE}, got {envelope.payload_type[:200]!r}") \
            if attestations else replace(base, skip=reason)
    predicate = _predicate_type(envelope.payload)
    if predicate_type is not None and predicate is not None and predicate != predicate_type:
        return replace(base, skip=f"{what}: {_other_predicate(predicate, predicate_type)}")
    if len(envelope.signatures) != 1:
        # Bundle spec: a DSSE envelope in a bundle carries exactly one signature; cosign's .att envelopes too. With
        # two, which one the log and the key vouch for is ambiguous (CVE-2026-39395).
        return _failed(base, f"expected exactly 1 DSSE signature, got {len(envelope.signatures)}")
    return replace(base, payload=envelope.payload, signed_bytes=envelope.signed_bytes,
                   signature=envelope.signatures[0].sig, envelope=envelope)


def _read_attestation_layer(store: ArtifactStore, tag: str, index: int, layer: Descriptor, limits: Limits,
                            predicate_type: str) -> SignatureEvidence:
    """One layer of cosign's ``.att`` manifest: a DSSE envelope blob; its Rekor bundle in the layer annotations."""
    location = f"{tag} layer {index}"
    base = SignatureEvidence(EvidenceSource.LEGACY_TAG, location, PayloadKind.IN_TOTO,
                             annotations=dict(layer.annotations))
    if layer.size > limits.max_signature_bytes:
        return _failed(base, _too_large("DSSE envelope", layer, limits.max_signature_bytes))
    try:
        envelope = parse_envelope(store.get_blob(layer, limit=limits.max_signature_bytes))
    except _EVIDENCE_ERRORS as exc:
        return _failed(base, f"DSSE envelope: {describe(exc)}")
    return envelope_evidence(base, envelope, predicate_type, "a DSSE envelope")


def _predicate_type(statement: bytes) -> str | None:
    """The statement's predicateType; ``None`` when it does not parse (the claims check then says why)."""
    try:
        return parse_statement(statement).predicate_type
    except InvalidPayloadError:
        return None


def _other_predicate(predicate: str, wanted: str = COSIGN_SIGN_PREDICATE) -> str:
    if wanted == COSIGN_SIGN_PREDICATE:
        return f"an attestation of predicateType {predicate[:200]!r}, not an image signature ({wanted})"
    if predicate == COSIGN_SIGN_PREDICATE:
        return f"an image signature ({predicate}), not an attestation of predicateType {wanted!r}"
    return f"an attestation of predicateType {predicate[:200]!r}, not of {wanted!r}"


def _too_large(what: str, desc: Descriptor, cap: int) -> str:
    return f"{what} declares {desc.size} bytes, over the {cap}-byte limit: not read"


def _failed(base: SignatureEvidence, problem: str) -> SignatureEvidence:
    return replace(base, problem=problem)
