"""cosign's legacy signature artifact: the image manifest at tag ``sha256-<hex>.sig`` (SPECS.md "cosign, legacy
tag scheme"; cosign ``specs/SIGNATURE_SPEC.md`` "Tag-based Discovery" and "OCI Image Manifest V1").

One manifest per signed digest, **one layer per signature**: the layer's blob is the simple-signing payload
(media type ``application/vnd.dev.cosign.simplesigning.v1+json``) and its annotation
``dev.cosignproject.cosign/signature`` is the standard base64 of the signature over the payload bytes. Signing
again appends a layer (read, append, put).

Bytes are what cosign writes through go-containerregistry (``mutate.Append`` onto ``empty.Image`` with OCI media
types, cosign ``pkg/oci/mutate``): descriptors in Go field order (mediaType, size, digest, ..., annotations),
and a config that lists each layer's digest as its diff ID with one empty history entry per layer::

    {"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],
     "os":"","rootfs":{"type":"layers","diff_ids":["sha256:<payload>"]},"config":{}}

Certificates are read under both spellings: cosign's code writes ``dev.sigstore.cosign/certificate`` and
``.../chain``, its spec prose says ``dev.cosignproject.cosign/...``; we write the code's. Empty or
whitespace-only certificate, chain and bundle values count as absent (cosign's layer accessors).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from supplychain.digest import Digest
from supplychain.formats import gojson
from supplychain.formats.error import InvalidPayloadError
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Descriptor, Manifest, parse_manifest

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATIONS = ("dev.sigstore.cosign/certificate", "dev.cosignproject.cosign/certificate")
CHAIN_ANNOTATIONS = ("dev.sigstore.cosign/chain", "dev.cosignproject.cosign/chain")
TIMESTAMP_ANNOTATION = "dev.sigstore.cosign/rfc3161timestamp"
SIMPLE_SIGNING_MEDIA_TYPE = MediaType.COSIGN_SIMPLE_SIGNING.value
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, as go-containerregistry leaves "created"
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def encode_signature(signature: bytes) -> str:
    """The annotation value for ``signature``: standard padded base64, one line (cosign)."""
    return base64.b64encode(signature).decode("ascii")


def decode_signature(value: str) -> bytes:
    """The signature in an annotation value: standard padded base64, where ``\\r`` and ``\\n`` are ignored
    (Go's ``base64.StdEncoding`` skips them, and cosign's BYO-PKI signatures are wrapped at 76 columns), and
    anything else outside the alphabet is an error. Raises ``InvalidPayloadError``."""
    raw = value.encode("utf-8", "replace").replace(b"\r", b"").replace(b"\n", b"")
    if not raw:
        raise InvalidPayloadError("the signature annotation is empty")
    if not set(raw) <= _BASE64_ALPHABET:
        raise InvalidPayloadError("the signature annotation is not base64 (characters outside the alphabet)")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise InvalidPayloadError(f"the signature annotation is not valid base64: {exc}") from exc


def annotation_value(annotations: Mapping[str, str], names: Sequence[str]) -> str | None:
    """The first non-blank value among ``names`` (cosign treats ``""`` and whitespace as absent)."""
    for name in names:
        value = annotations.get(name)
        if value is not None and value.strip():
            return value
    return None


def signature_layer(payload: bytes, signature: bytes, extra: Mapping[str, str] | None = None) -> Descriptor:
    """The layer descriptor of one signature: the payload blob, annotated with the signature."""
    annotations = {SIGNATURE_ANNOTATION: encode_signature(signature), **(extra or {})}
    return Descriptor.for_bytes(SIMPLE_SIGNING_MEDIA_TYPE, payload, annotations=annotations)


def config_for(layers: Sequence[Descriptor]) -> bytes:
    """The config blob go-containerregistry writes for ``layers`` appended to ``empty.Image``."""
    doc = {
        "architecture": "",
        "created": _ZERO_TIME,
        "history": [{"created": _ZERO_TIME} for _ in layers],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [str(layer.digest) for layer in layers]},
        "config": {},
    }
    return gojson.encode(doc, sort_keys=False)


def build_signature_manifest(layers: Sequence[Descriptor]) -> tuple[Manifest, bytes]:
    """The ``.sig`` manifest listing ``layers`` (in order), and its config blob."""
    config = config_for(layers)
    config_desc = Descriptor.for_bytes(MediaType.OCI_CONFIG, config)
    doc = {
        "schemaVersion": 2,
        "mediaType": MediaType.OCI_MANIFEST.value,
        "config": _go_descriptor(config_desc),
        "layers": [_go_descriptor(layer) for layer in layers],
    }
    raw = gojson.encode(doc, sort_keys=False)
    manifest = parse_manifest(raw, MediaType.OCI_MANIFEST)
    assert isinstance(manifest, Manifest)
    return manifest, config


def _go_descriptor(desc: Descriptor) -> dict[str, Any]:
    """A descriptor in go-containerregistry's ``v1.Descriptor`` field order; annotations sorted (a Go map)."""
    out: dict[str, Any] = {"mediaType": desc.media_type, "size": desc.size, "digest": str(desc.digest)}
    if desc.data is not None:
        out["data"] = base64.b64encode(desc.data).decode("ascii")
    if desc.urls:
        out["urls"] = list(desc.urls)
    if desc.annotations:
        out["annotations"] = dict(sorted(desc.annotations.items()))
    if desc.platform is not None:
        out["platform"] = desc.platform.to_json()
    if desc.artifact_type:
        out["artifactType"] = desc.artifact_type
    return out


def has_signature(
    layers: Sequence[Descriptor],
    payload_digest: Digest,
    payload: bytes,
    verifies: Callable[[bytes, bytes], bool],
    *,
    required_annotation: str | None = None,
) -> bool:
    """Whether ``layers`` already hold a signature of ``payload`` that ``verifies(signature, payload)``.

    ECDSA signatures are randomized, so "the same signature" means: a layer with the same payload (same digest,
    so no blob needs reading) whose signature verifies with the signer's key. With ``required_annotation``
    (e.g. the Rekor bundle when signing with a transparency log) a layer without it does not count: signing
    again adds what it lacks.
    """
    for layer in layers:
        if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE or layer.digest != payload_digest:
            continue
        if required_annotation is not None and annotation_value(layer.annotations, (required_annotation,)) is None:
            continue
        value = layer.annotations.get(SIGNATURE_ANNOTATION)
        if value is None:
            continue
        try:
            signature = decode_signature(value)
        except InvalidPayloadError:
            continue
        if verifies(signature, payload):
            return True
    return False
