"""``attach_signature``: store a signature made elsewhere as cosign's legacy ``.sig`` layer.

``cosign attach signature`` (cosign ``cmd/cosign/cli/attach/sig.go``) takes a payload and a signature made out
of band (an HSM, a KMS, an air-gapped machine, ``sign --no-upload``) and appends them to the ``sha256-<hex>.sig``
manifest of the image, exactly as ``cosign sign`` would have (SPECS.md "cosign, legacy tag scheme"). We build the
layer and manifest with ``signing.legacy``, the same code ``sign_image`` uses, so the bytes are the same.

Stricter than cosign, on purpose:

- the payload must be a cosign simple-signing payload whose ``docker-manifest-digest`` is the image's digest.
  cosign attaches any payload; a payload for another digest is a replayed signature that every verifier
  must reject (``cosign verify --check-claims``), so storing it only plants a trap. Refused, nothing written;
- the signature is the base64 text ``cosign sign --output-signature`` writes (one line, or wrapped: newlines are
  ignored as Go's ``base64.StdEncoding`` does), or a raw DER ECDSA signature (``openssl dgst -sign`` output).
  They cannot be confused: a DER signature's third byte is ``0x02`` (INTEGER), which is not a base64 character.
  Raw RSA or Ed25519 signature bytes are not DER and must be given as base64. cosign also takes the
  ``--signature`` value itself as the signature when no such file exists; we refuse that (a typo in a path would
  become a "signature");
- an identical signature (same payload, same signature bytes) already in the manifest is not appended again
  (cosign appends duplicates);
- inputs are capped before they are read whole: payload 1 MiB, signature 64 KiB, certificate 64 KiB, chain 256 KiB.

The signature is not verified here (there is no key to verify it with); ``supplychain verify --key`` does that.
Writes follow ``sign_image``: everything is checked and built first, then blobs are written, the manifest last,
through ``signing.writer``, which re-reads the ``.sig`` manifest right before its put (under the tag's lock where
the store has one) and confirms the put by reading it back (concurrent attachers and signers do not silently drop
each other's layers).
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from dataclasses import dataclass

from supplychain.errors import InvalidInputError
from supplychain.files import FileTooLargeError, read_capped
from supplychain.formats.error import InvalidPayloadError
from supplychain.keys import PublicKey
from supplychain.limits import MAX_LAYERS
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.model import Descriptor
from supplychain.oci.store import ArtifactStore
from supplychain.oci.tagwriter import Sleep
from supplychain.signing import legacy
from supplychain.signing.error import SignatureTagError
from supplychain.signing.payload import parse_payload
from supplychain.signing.writer import append_signature_layer, read_signature_layers

MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_SIGNATURE_BYTES = 64 * 1024
MAX_CERTIFICATE_BYTES = 64 * 1024
MAX_CHAIN_BYTES = 256 * 1024
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_DER_SEQUENCE = 0x30


class AttachFileError(InvalidInputError):
    """A payload, signature or certificate file that is missing, unreadable, empty or too large."""

    default_hint = "check the path; payloads and signatures are small files (cosign sign --output-*)"


class SignatureEncodingError(InvalidInputError):
    """A signature file that is neither base64 text nor a DER-encoded signature."""

    default_hint = (
        "give the signature as base64 (what cosign sign --output-signature writes) or as raw DER "
        "(openssl dgst -sha256 -sign KEY PAYLOAD)"
    )


class ReplayedPayloadError(InvalidInputError):
    """A payload whose ``docker-manifest-digest`` is not the digest of the image it is attached to."""

    default_hint = (
        "a signature names the one digest it was made for; sign a payload for this image "
        "(supplychain sign --no-upload --output-payload, or build it for this digest) and attach that"
    )


class CertificateFileError(InvalidInputError):
    """A ``--certificate`` or ``--certificate-chain`` file without a parseable PEM certificate."""

    default_hint = "give PEM (-----BEGIN CERTIFICATE-----) files: the leaf, and the chain up to the root"


@dataclass(frozen=True, slots=True)
class AttachedSignature:
    """What ``attach_signature`` did."""

    subject: Descriptor  # the image the signature is for
    docker_reference: str  # the identity the payload names
    tag: str  # sha256-<hex>.sig
    layer: Descriptor  # the signature's layer (payload blob, signature annotation)
    artifact: Descriptor  # the .sig manifest now at ``tag``
    already_present: bool  # an identical layer was there: nothing was written


def read_input_file(path: str | os.PathLike[str], *, limit: int, what: str, hint: str | None = None) -> bytes:
    """The bytes of a small input file, refusing a missing, unreadable, empty or over-``limit`` file; ``hint``
    replaces the default one (which is about payloads and signatures), ``{limit}`` in it the limit (``128 MiB``)."""
    name = os.fspath(path)
    hint = hint.format(limit=_size(limit)) if hint is not None else None
    try:
        data = read_capped(path, limit)
    except FileTooLargeError as exc:
        raise _too_large(f"{what} file {name}", limit, hint) from exc
    except FileNotFoundError as exc:
        raise AttachFileError(f"{what} file {name} does not exist", hint=hint) from exc
    except OSError as exc:
        raise AttachFileError(f"cannot read {what} file {name}: {exc.strerror or exc}", hint=hint) from exc
    return check_input(data, limit=limit, what=f"{what} file {name}", hint=hint)


def _too_large(what: str, limit: int, hint: str | None = None) -> AttachFileError:
    return AttachFileError(f"{what} is larger than {_size(limit)}: refused",
                           hint=hint or "a payload is a small JSON document and a signature a few hundred bytes; "
                           "check that this is the right file")


def check_input(data: bytes, *, limit: int, what: str, hint: str | None = None) -> bytes:
    """``data`` if it is neither empty nor over ``limit`` bytes (``what`` names it in the error)."""
    if len(data) > limit:
        raise _too_large(what, limit, hint)
    if not data.strip():
        raise AttachFileError(f"{what} is empty", hint=hint)
    return data


def decode_signature_file(data: bytes, *, what: str = "signature") -> bytes:
    """The raw signature in a signature file: base64 text (line breaks and surrounding blanks ignored) or DER.

    See the module docstring for why the two cannot be confused.
    """
    text = data.strip().replace(b"\r", b"").replace(b"\n", b"")
    if text and set(text) <= _BASE64_ALPHABET:
        try:
            signature = base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise SignatureEncodingError(f"{what} is not valid base64: {exc}") from exc
        return signature
    if data[:1] == bytes([_DER_SEQUENCE]) and _is_der_ecdsa_signature(data):
        return data
    raise SignatureEncodingError(f"{what} is neither base64 text nor a DER-encoded signature")


def _is_der_ecdsa_signature(data: bytes) -> bool:
    """Whether ``data`` is exactly one DER ``SEQUENCE { INTEGER r, INTEGER s }`` (RFC 5480 ECDSA-Sig-Value)."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    try:
        r, s = decode_dss_signature(data)
    except ValueError:
        return False
    # Canonical DER only: re-encoding must give the same bytes (no trailing data, no long-form padding).
    return encode_dss_signature(r, s) == data


def parse_certificates(pem: bytes, *, what: str) -> tuple[str, ...]:
    """The PEM text of each certificate in ``pem`` (at least one; other PEM blocks are refused)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise CertificateFileError(f"{what} is not a PEM certificate file: {exc}") from exc
    return tuple(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates)


def attach_signature(
    store: ArtifactStore,
    subject: Descriptor,
    payload: bytes,
    signature: bytes,
    *,
    certificate: bytes | None = None,
    chain: bytes | None = None,
    sleep: Sleep = time.sleep,
) -> AttachedSignature:
    """Append ``signature`` over ``payload`` to ``subject``'s ``.sig`` manifest in ``store``.

    ``payload`` must be a simple-signing payload for ``subject.digest`` (else ``ReplayedPayloadError``, and
    nothing is written). ``signature`` is the raw signature (see ``decode_signature_file``). ``certificate`` and
    ``chain`` are PEM; they become cosign's ``dev.sigstore.cosign/certificate`` and ``.../chain`` layer
    annotations (a chain needs a certificate). ``sleep`` waits between rounds after a race; when concurrent
    writers kept overwriting the ``.sig`` tag, ``SignatureWriteError`` is raised (``signing.writer``).
    """
    check_input(payload, limit=MAX_PAYLOAD_BYTES, what="the payload")
    check_input(signature, limit=MAX_SIGNATURE_BYTES, what="the signature")
    try:
        claims = parse_payload(payload)
    except InvalidPayloadError as exc:
        raise InvalidPayloadError(
            f"the payload is not a cosign simple-signing payload: {exc.message}",
            hint="attach the exact bytes that were signed (cosign sign --output-payload, supplychain sign "
            "--output-payload)",
        ) from exc
    if claims.digest != subject.digest:
        raise ReplayedPayloadError(
            f"the payload is for {claims.digest}, not for {subject.digest}: attaching it would replay another "
            "image's signature"
        )
    extra = _certificate_annotations(certificate, chain)

    tag = attachment_tag(subject.digest, AttachmentKind.SIGNATURE)
    read = read_signature_layers(store, tag, sleep=sleep)
    current, existing = read
    layer = legacy.signature_layer(payload, signature, extra)
    if legacy.has_signature(existing, layer.digest, payload, lambda found, _: found == signature):
        assert current is not None  # it holds the signature
        return AttachedSignature(subject, claims.docker_reference, tag, layer, current.descriptor(), True)
    if len(existing) >= MAX_LAYERS:
        raise SignatureTagError(
            f"{store.name}:{tag} already holds {len(existing)} layers, the most a manifest may have",
            hint="remove old signatures (supplychain clean --type signature) before attaching more",
        )
    appended = append_signature_layer(store, tag, layer, payload, sleep=sleep, current=read)
    return AttachedSignature(subject, claims.docker_reference, tag, layer, appended.manifest,
                             appended.already_present)


def _certificate_annotations(certificate: bytes | None, chain: bytes | None) -> dict[str, str]:
    if certificate is None:
        if chain is not None:
            raise CertificateFileError("a certificate chain was given without the certificate it belongs to",
                                       hint="pass --certificate with --certificate-chain")
        return {}
    check_input(certificate, limit=MAX_CERTIFICATE_BYTES, what="the certificate")
    leaf = parse_certificates(certificate, what="the certificate")
    if len(leaf) != 1:
        raise CertificateFileError(f"the certificate file holds {len(leaf)} certificates; expected the leaf only",
                                   hint="put the leaf in --certificate and the others in --certificate-chain")
    # cosign writes the code's spelling (dev.sigstore.cosign/...), see signing.legacy.
    out = {legacy.CERTIFICATE_ANNOTATIONS[0]: leaf[0]}
    if chain is not None:
        check_input(chain, limit=MAX_CHAIN_BYTES, what="the certificate chain")
        out[legacy.CHAIN_ANNOTATIONS[0]] = "".join(parse_certificates(chain, what="the certificate chain"))
    return out



class CertificateKeyMismatchError(CertificateFileError):
    """``sign --certificate`` with a certificate whose public key is not the signing key's."""

    default_hint = ("give the certificate issued for this --key (its public key is the key's: compare with "
                    "`supplychain public-key --key KEY`), or sign with the key the certificate was issued for")


@dataclass(frozen=True, slots=True)
class SigningCertificate:
    """A BYO-PKI signing certificate for ``sign --certificate`` (and its chain), checked against the signing key."""

    leaf_pem: str  # one PEM certificate, as stored in dev.sigstore.cosign/certificate and sent to the log
    chain_pem: str | None  # the PEM chain up to the root, as stored in dev.sigstore.cosign/chain
    leaf_der: bytes  # for a bundle's verificationMaterial.certificate.rawBytes

    def annotations(self) -> dict[str, str]:
        """cosign's legacy layer annotations for this certificate (the code's spelling, see ``signing.legacy``)."""
        out = {legacy.CERTIFICATE_ANNOTATIONS[0]: self.leaf_pem}
        if self.chain_pem is not None:
            out[legacy.CHAIN_ANNOTATIONS[0]] = self.chain_pem
        return out


def signing_certificate(certificate: bytes, chain: bytes | None, public_key: PublicKey) -> SigningCertificate:
    """Check ``certificate`` (one PEM leaf) and ``chain`` (PEM) as ``attach signature`` does, and that the leaf's
    public key is ``public_key``: a signature stored with another key's certificate could never verify, and
    cosign refuses it too ("public key in certificate does not match the provided public key")."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    annotations = _certificate_annotations(certificate, chain)
    leaf_pem = annotations[legacy.CERTIFICATE_ANNOTATIONS[0]]
    leaf = x509.load_pem_x509_certificate(leaf_pem.encode("ascii"))
    spki = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if spki != public_key.der():
        raise CertificateKeyMismatchError(
            f"the certificate's public key is not the signing key's (certificate subject "
            f"{leaf.subject.rfc4514_string() or '(empty)'}, serial {leaf.serial_number:x}); nothing was signed"
        )
    return SigningCertificate(leaf_pem, annotations.get(legacy.CHAIN_ANNOTATIONS[0]), leaf.public_bytes(Encoding.DER))


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit // 1024} KiB"
