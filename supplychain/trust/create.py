"""Writing trust material: a Sigstore TrustedRoot v0.1 for a private instance (``trusted-root create``, as
``cosign trusted-root create`` makes it) and a SigningConfig v0.2 naming the services a keyless signer uses.

The reader of both is the other half of this package (``trust.root.TrustedRoot.parse``; the signing config is read
by the ``sigstore`` package when ``signing.keyless`` signs). What is written is protobuf-specs' JSON mapping
(``sigstore_trustroot.proto``): bytes as standard base64, enums by name, times RFC 3339 UTC.

- a certificate authority (Fulcio, ``--certificate-chain``) or a timestamp authority (``--timestamp-certificate-
  chain``) is its chain as given, leaf-most first and root last (what the file lists, as cosign requires); its
  ``subject`` is the leaf-most certificate's organization and common name; its window starts at that certificate's
  ``notBefore`` (cosign does the same) and is open (the certificates' own validity is checked on every use);
- a log (Rekor ``--rekor-key``, CT ``--ctfe-key``) is its DER SubjectPublicKeyInfo with the ``keyDetails`` of its
  key type and its log ID: SHA-256 of that DER (Rekor v1, RFC 6962 CT logs), or, for a Rekor v2 key given as
  ``PATH,NAME``, the C2SP signed-note key hash under that name (cosign's ``--rekor-key=key.pub,rekor.example``).
  Without a start time the window starts at the Unix epoch, as cosign writes it: the key vouches for every time
  until an ``end`` retires it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID

from supplychain.keys.log import LogKey, LogKeyError, spki_der
from supplychain.trust.error import TrustedRootError
from supplychain.trust.root import TRUSTED_ROOT_MEDIA_TYPE
from supplychain.trust.window import format_time

SIGNING_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
EPOCH = "1970-01-01T00:00:00Z"


@dataclass(frozen=True, slots=True)
class LogSpec:
    """One transparency log (Rekor) or certificate transparency log for a trusted root."""

    key: LogKey
    url: str
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuthoritySpec:
    """One certificate authority or timestamp authority: its chain (leaf-most first, root last) and its URI."""

    certificates: tuple[x509.Certificate, ...]
    uri: str = ""
    start: datetime | None = None
    end: datetime | None = None


def log_spec(pem: bytes, url: str, *, name: str | None = None, start: datetime | None = None,
             end: datetime | None = None, what: str = "log key") -> LogSpec:
    """A ``LogSpec`` of a PEM or DER public key; with ``name`` (an Ed25519 key), a Rekor v2 key under that name."""
    try:
        key = LogKey.load(pem)
        if name is not None:
            if not isinstance(key.public_key, Ed25519PublicKey):
                raise TrustedRootError(f"{what}: a Rekor v2 key (PATH,NAME) is an Ed25519 key",
                                       hint="give an ECDSA P-256 key without a name (a Rekor v1 log)")
            key = LogKey.rekor_v2(name, key.public_key)
    except LogKeyError as exc:
        raise TrustedRootError(f"{what}: {exc}", hint=exc.hint) from exc
    return LogSpec(key, url, start, end)


def build_trusted_root(
    *,
    certificate_authorities: Sequence[AuthoritySpec] = (),
    tlogs: Sequence[LogSpec] = (),
    ctlogs: Sequence[LogSpec] = (),
    timestamp_authorities: Sequence[AuthoritySpec] = (),
) -> bytes:
    """The TrustedRoot v0.1 JSON (indented, as cosign writes it) of these authorities and logs."""
    for authority in (*certificate_authorities, *timestamp_authorities):
        if not authority.certificates:
            raise TrustedRootError("a certificate chain is empty", hint="give a PEM file of at least one certificate")
    document = {
        "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
        "tlogs": [_log(spec) for spec in tlogs],
        "certificateAuthorities": [_authority(spec) for spec in certificate_authorities],
        "ctlogs": [_log(spec) for spec in ctlogs],
        "timestampAuthorities": [_authority(spec) for spec in timestamp_authorities],
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def build_signing_config(
    *,
    fulcio_url: str,
    rekor_urls: Sequence[str],
    tsa_urls: Sequence[str] = (),
    oidc_url: str | None = None,
    operator: str = "supplychain",
    start: datetime | None = None,
) -> bytes:
    """A SigningConfig v0.2 JSON naming one Fulcio, the Rekor v1 logs to write to (all of them) and the TSAs (all);
    each service is valid from ``start`` (default: now) on."""
    valid_for = {"start": _time(start or datetime.now(UTC))}

    def service(url: str, version: int) -> dict[str, object]:
        return {"url": url.rstrip("/"), "majorApiVersion": version, "validFor": valid_for, "operator": operator}

    document: dict[str, object] = {
        "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
        "caUrls": [service(fulcio_url, 1)],
        "oidcUrls": [] if oidc_url is None else [service(oidc_url, 1)],
        "rekorTlogUrls": [service(url, 1) for url in rekor_urls],
        "tsaUrls": [service(url, 1) for url in tsa_urls],
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaConfig": {"selector": "ANY"},
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def build_client_trust_config(trusted_root: bytes, signing_config: bytes) -> bytes:
    """The ClientTrustConfig v0.1 JSON (what ``sigstore``'s ``ClientTrustConfig.from_json`` reads) of a trusted root
    and a signing config, each a JSON document."""
    from supplychain.formats.strictjson import loads_untrusted

    return json.dumps({"mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE, "trustedRoot": loads_untrusted(trusted_root),
                       "signingConfig": loads_untrusted(signing_config)}).encode()


def _time(moment: datetime) -> str:
    return format_time(int(moment.timestamp()))


def _window(start: datetime | None, end: datetime | None, default_start: str) -> dict[str, str]:
    window = {"start": default_start if start is None else _time(start)}
    if end is not None:
        window["end"] = _time(end)
    return window


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key_details(key: LogKey) -> str:
    public_key = key.public_key
    if isinstance(public_key, Ed25519PublicKey):
        return "PKIX_ED25519"
    assert isinstance(public_key, ec.EllipticCurvePublicKey)  # LogKey holds ECDSA P-256 or Ed25519 only
    return "PKIX_ECDSA_P256_SHA_256"


def _log(spec: LogSpec) -> dict[str, object]:
    return {
        "baseUrl": spec.url.rstrip("/"),
        "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": _b64(spki_der(spec.key.public_key)), "keyDetails": _key_details(spec.key),
                      "validFor": _window(spec.start, spec.end, EPOCH)},
        "logId": {"keyId": _b64(spec.key.log_id)},
    }


def _authority(spec: AuthoritySpec) -> dict[str, object]:
    first = spec.certificates[0]

    def name(oid: x509.ObjectIdentifier) -> str:
        values = first.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""

    return {
        "subject": {"organization": name(NameOID.ORGANIZATION_NAME), "commonName": name(NameOID.COMMON_NAME)},
        "uri": spec.uri,
        "certChain": {"certificates": [{"rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))}
                                       for cert in spec.certificates]},
        "validFor": _window(spec.start, spec.end, _time(first.not_valid_before_utc)),
    }


__all__ = [
    "CLIENT_TRUST_CONFIG_MEDIA_TYPE",
    "SIGNING_CONFIG_MEDIA_TYPE",
    "AuthoritySpec",
    "LogSpec",
    "build_client_trust_config",
    "build_signing_config",
    "build_trusted_root",
    "log_spec",
]
