"""DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse ``protocol.md`` and ``envelope.md``): the one
Pre-Authentication Encoding and the one envelope model, for signing, bundles and the log's ``dsse`` entries.

The signature is over the Pre-Authentication Encoding, never over the payload alone::

    PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body

with ``LEN`` the ASCII decimal byte length. The envelope JSON is
``{"payload": b64(body), "payloadType": type, "signatures": [{"keyid": ..., "sig": b64(sig)}]}``; inside a
Sigstore bundle it is the protobuf ``io.intoto.Envelope`` in protojson form (field order payload, payloadType,
signatures; an empty ``keyid`` omitted).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from supplychain.formats.error import InvalidPayloadError
from supplychain.formats.strictjson import loads_untrusted

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding of ``body`` of ``payload_type``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(body), body)


@dataclass(frozen=True, slots=True)
class DsseSignature:
    """One signature of an envelope."""

    sig: bytes
    keyid: str = ""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A DSSE envelope: the payload, its type, and signatures over ``pae(payload_type, payload)``."""

    payload: bytes
    payload_type: str
    signatures: tuple[DsseSignature, ...]

    @property
    def signed_bytes(self) -> bytes:
        """What each signature covers."""
        return pae(self.payload_type, self.payload)

    def to_json(self) -> dict[str, Any]:
        """The envelope as protojson writes ``io.intoto.Envelope`` (bytes as standard padded base64)."""
        signatures = []
        for signature in self.signatures:
            entry: dict[str, Any] = {"sig": _b64(signature.sig)}
            if signature.keyid:
                entry["keyid"] = signature.keyid
            signatures.append(entry)
        return {"payload": _b64(self.payload), "payloadType": self.payload_type, "signatures": signatures}

    def to_go_json(self) -> dict[str, Any]:
        """The envelope as cosign writes and prints it (go-securesystemslib ``dsse.Envelope``: field order
        payloadType, payload, signatures; each signature ``{"keyid", "sig"}``, an empty ``keyid`` kept): the blob of a
        cosign ``.att`` layer, and each line ``cosign verify-attestation`` and ``download attestation`` print."""
        return {
            "payloadType": self.payload_type,
            "payload": _b64(self.payload),
            "signatures": [{"keyid": s.keyid, "sig": _b64(s.sig)} for s in self.signatures],
        }


def envelope_from_json(doc: Any) -> Envelope:
    """Read an envelope object; raise ``InvalidPayloadError`` on a malformed one."""
    if not isinstance(doc, dict):
        raise InvalidPayloadError("DSSE envelope is not a JSON object")
    payload_type = doc.get("payloadType")
    if not isinstance(payload_type, str) or not payload_type:
        raise InvalidPayloadError("DSSE envelope has no payloadType")
    payload = decode_bytes(doc.get("payload"), "DSSE payload")
    raw_signatures = doc.get("signatures")
    if not isinstance(raw_signatures, list):
        raise InvalidPayloadError("DSSE envelope has no signatures list")
    signatures = []
    for i, item in enumerate(raw_signatures):
        if not isinstance(item, dict):
            raise InvalidPayloadError(f"DSSE signature {i} is not a JSON object")
        keyid = item.get("keyid", "")
        if not isinstance(keyid, str):
            raise InvalidPayloadError(f"DSSE signature {i} keyid is not a string")
        signatures.append(DsseSignature(decode_bytes(item.get("sig"), f"DSSE signature {i}"), keyid))
    return Envelope(payload, payload_type, tuple(signatures))


def parse_envelope(data: bytes | str) -> Envelope:
    """Read envelope JSON (a ``.att`` layer, a Rekor ``dsse`` proposal's ``envelope`` string) through the strict
    decoder; raise ``InvalidPayloadError`` on anything malformed."""
    try:
        doc = loads_untrusted(data)
    except ValueError as exc:
        raise InvalidPayloadError(f"DSSE envelope is not valid JSON: {exc}") from exc
    return envelope_from_json(doc)


def decode_bytes(value: Any, what: str) -> bytes:
    """A protojson ``bytes`` field: standard or URL-safe base64, padded or not (as protojson accepts)."""
    if not isinstance(value, str):
        raise InvalidPayloadError(f"{what} is not a base64 string")
    text = value.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII text
        raise InvalidPayloadError(f"{what} is not valid base64") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


__all__ = [
    "ENVELOPE_MEDIA_TYPE",
    "IN_TOTO_PAYLOAD_TYPE",
    "DsseSignature",
    "Envelope",
    "decode_bytes",
    "envelope_from_json",
    "pae",
    "parse_envelope",
]
