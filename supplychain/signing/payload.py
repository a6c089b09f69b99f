"""cosign's simple-signing payload: build it byte for byte as cosign does, parse it strictly.

Format (cosign ``specs/SIGNATURE_SPEC.md`` "Simple Signing"; containers/image ``docs/containers-signature.5.md``
"JSON Data Format"; SPECS.md "cosign, legacy tag scheme")::

    {"critical":{"identity":{"docker-reference":R},
                 "image":{"docker-manifest-digest":"sha256:<hex>"},
                 "type":"cosign container image signature"},
     "optional":null | {annotations}}

Bytes: sigstore ``pkg/signature/payload`` marshals a Go struct (field order critical, optional; critical's
identity, image, type) with ``encoding/json``, and ``optional`` is a Go map (sorted keys) or ``null`` when there
are no annotations. ``build_payload`` reproduces exactly those bytes (tested against ``payload_test.go``'s
goldens).

Parsing follows containers/image (``signature/internal/sigstore_payload.go``), the strictest reader in the
field: exactly these keys, ``type`` must be the cosign constant, ``optional.timestamp`` (when present) an
integer; plus no duplicate keys anywhere (``gojson.decode_strict``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supplychain.digest import Digest
from supplychain.errors import InvalidDigestError
from supplychain.formats import gojson
from supplychain.formats.error import InvalidPayloadError

SIMPLE_SIGNING_TYPE = "cosign container image signature"


@dataclass(frozen=True, slots=True)
class SimpleSigningPayload:
    """The claims of a simple-signing payload."""

    docker_reference: str
    digest: Digest
    optional: Mapping[str, Any] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        """The payload as a JSON object (what ``cosign verify -o json`` prints for it)."""
        return {
            "critical": {
                "identity": {"docker-reference": self.docker_reference},
                "image": {"docker-manifest-digest": str(self.digest)},
                "type": SIMPLE_SIGNING_TYPE,
            },
            "optional": dict(self.optional) if self.optional is not None else None,
        }


def build_payload(docker_reference: str, digest: Digest, annotations: Mapping[str, Any] | None = None) -> bytes:
    """The payload cosign signs for ``digest`` under ``docker_reference``: its exact bytes.

    Empty or absent ``annotations`` give ``"optional":null`` (cosign); otherwise they form the ``optional`` map.
    """
    optional = dict(annotations) if annotations else None
    return gojson.encode(SimpleSigningPayload(docker_reference, digest, optional).to_json())


def parse_payload(data: bytes) -> SimpleSigningPayload:
    """Parse a simple-signing payload strictly; raise ``InvalidPayloadError`` saying what is wrong."""
    try:
        doc = gojson.decode_strict(data)
    except ValueError as exc:
        raise InvalidPayloadError(f"simple-signing payload is not valid JSON: {exc}") from exc
    top = _exact_object(doc, {"critical", "optional"}, "payload", optional_keys={"optional"})
    crit = _exact_object(top["critical"], {"identity", "image", "type"}, "critical")
    identity = _exact_object(crit["identity"], {"docker-reference"}, "critical.identity")
    image = _exact_object(crit["image"], {"docker-manifest-digest"}, "critical.image")
    if crit["type"] != SIMPLE_SIGNING_TYPE:
        raise InvalidPayloadError(
            f"payload critical.type: expected {SIMPLE_SIGNING_TYPE!r}, got {crit['type']!r}"
        )
    reference = identity["docker-reference"]
    if not isinstance(reference, str):
        raise InvalidPayloadError("payload critical.identity.docker-reference is not a string")
    digest_text = image["docker-manifest-digest"]
    if not isinstance(digest_text, str):
        raise InvalidPayloadError("payload critical.image.docker-manifest-digest is not a string")
    try:
        digest = Digest.parse(digest_text)
    except InvalidDigestError as exc:
        raise InvalidPayloadError(f"payload docker-manifest-digest: {exc.message}") from exc
    optional = top.get("optional")
    if optional is not None and not isinstance(optional, dict):
        raise InvalidPayloadError("payload optional must be an object or null")
    if optional is not None and "timestamp" in optional:
        stamp = optional["timestamp"]
        # containers/image: "timestamp" is an integer number of seconds (JSON numbers decode as float64 there).
        if isinstance(stamp, bool) or not isinstance(stamp, int | float) or int(stamp) != stamp:
            raise InvalidPayloadError("payload optional.timestamp must be an integer")
    return SimpleSigningPayload(reference, digest, optional)


def _exact_object(
    value: Any, keys: set[str], where: str, *, optional_keys: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPayloadError(f"payload {where} is not a JSON object")
    missing = sorted(keys - set(value) - set(optional_keys))
    extra = sorted(set(value) - keys)
    if missing:
        raise InvalidPayloadError(f"payload {where}: missing {', '.join(missing)}")
    if extra:
        raise InvalidPayloadError(f"payload {where}: unexpected {', '.join(extra)}")
    return value
