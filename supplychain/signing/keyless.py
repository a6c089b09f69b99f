"""Keyless signing: an ephemeral key, a Fulcio certificate for an OIDC identity, a Rekor entry, a Sigstore bundle.

The ``sigstore`` package does the Sigstore protocol (its public API: ``sigstore.oidc.IdentityToken``,
``detect_credential`` for ambient CI credentials through the ``id`` package, ``Issuer`` for the interactive OAuth
flow, ``sigstore.sign.SigningContext`` over a ``ClientTrustConfig``): the ephemeral P-256 key, the CSR sent to
Fulcio, the check of the certificate's embedded SCT against the trusted root's CT logs, RFC 3161 timestamps from
the signing config's TSAs, the Rekor v1 (or v2) entry. What is ours:

- where the services and trust come from (``keyless_config``): Sigstore's production or staging instance as the
  ``sigstore`` package ships it (read offline, ``trust.root.sigstore_document``), or a trusted root and signing
  config of one's own (``trusted-root create``, ``trust.create``), with ``--fulcio-url``, ``--rekor-url``,
  ``--timestamp-server-url`` and ``--oidc-issuer`` replacing the signing config's services;
- the identity token's checks, each with its own message (``check_identity_token``): sigstore says only
  "malformed or missing claims" for a wrong audience or a missing subject;
- the rule that a keyless signature is never made without public evidence (``KeylessSigner``): every bundle must
  hold a transparency-log entry, or a trusted timestamp where the signing config names a TSA and no log (the log
  entry is what binds a short-lived certificate to a time inside its ten minutes);
- the bytes: ``sign_message`` (a message signature over the artifact, logged as ``hashedrekord``: ``sign-blob``,
  and the simple-signing payload of a legacy ``.sig`` layer) and ``sign_statement`` (an in-toto statement in DSSE,
  logged as ``dsse``: image bundles, attestations), each returning the v0.3 bundle JSON.

Library code: no click, no terminal. The interactive flow runs only when the caller says it may
(``interactive=True``: the CLI on a terminal).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supplychain.errors import AuthError, ConfigurationError, UnavailableError
from supplychain.trust.root import SigstoreInstance, TrustedRoot

if TYPE_CHECKING:
    from sigstore.oidc import IdentityToken
    from sigstore.sign import Signer

    from supplychain.formats.bundle import Bundle

AUDIENCE = "sigstore"  # Fulcio's client ID: the audience its tokens must be for
MAX_TOKEN_BYTES = 64 * 1024
_CLOCK_LEEWAY = 5  # seconds, as sigstore's IdentityToken allows


class IdentityTokenError(AuthError):
    """An OIDC identity token that Fulcio would refuse, or none at all."""

    default_hint = ("give a current token for audience 'sigstore' (--identity-token TOKEN or @FILE), run in a CI "
                    "job with OIDC credentials, or sign on a terminal to log in interactively")


class KeylessSigningError(UnavailableError):
    """A keyless signing step that failed: Fulcio, the CT log check, Rekor or a TSA."""

    default_hint = "check the Fulcio, Rekor and TSA URLs and that they are reachable; nothing was signed or stored"


class KeylessConfigError(ConfigurationError):
    """A trusted root or signing config that cannot drive keyless signing."""

    default_hint = ("give a trusted root and a signing config for the services (trusted-root create writes the "
                    "first), or use Sigstore's production or staging instance")


@dataclass(frozen=True, slots=True)
class KeylessConfig:
    """The trust and the services of one keyless signing: TrustedRoot v0.1 and SigningConfig v0.2 JSON."""

    trusted_root: bytes
    signing_config: bytes
    source: str  # what they are, for messages: "Sigstore production", or the files

    @property
    def oidc_url(self) -> str | None:
        services = _json(self.signing_config, "signing config").get("oidcUrls") or []
        return str(services[0]["url"]) if services else None

    @property
    def rekor_url(self) -> str | None:
        services = _json(self.signing_config, "signing config").get("rekorTlogUrls") or []
        return str(services[0]["url"]) if services else None

    @property
    def has_timestamp_authority(self) -> bool:
        return bool(_json(self.signing_config, "signing config").get("tsaUrls"))


def keyless_config(
    *,
    instance: SigstoreInstance = "production",
    trusted_root: str | Path | None = None,
    signing_config: str | Path | None = None,
    fulcio_url: str | None = None,
    rekor_url: str | None = None,
    timestamp_url: str | None = None,
    oidc_issuer: str | None = None,
) -> KeylessConfig:
    """The trust and services to sign with: Sigstore's ``instance`` as the ``sigstore`` package ships it, with a
    ``trusted_root`` and ``signing_config`` file each replacing its part, then each URL given replacing that
    service in the signing config (one Fulcio, one Rekor v1 log, one TSA, one OIDC issuer)."""
    from supplychain.trust.keyring import read_trust_file
    from supplychain.trust.root import sigstore_document

    root = (sigstore_document(instance, "trusted_root.json") if trusted_root is None
            else read_trust_file(trusted_root, "trusted root"))
    TrustedRoot.parse(root, source=str(trusted_root or f"Sigstore {instance} trusted root"))  # refused early
    config = (sigstore_document(instance, "signing_config.v0.2.json") if signing_config is None
              else read_trust_file(signing_config, "signing config"))
    document = _json(config, str(signing_config or "signing config"))
    from supplychain.trust.create import SIGNING_CONFIG_MEDIA_TYPE

    if document.get("mediaType") != SIGNING_CONFIG_MEDIA_TYPE:
        raise KeylessConfigError(f"{signing_config or 'the signing config'} is not a SigningConfig v0.2 "
                                 f"(mediaType {document.get('mediaType')!r})")
    overrides = {"caUrls": fulcio_url, "rekorTlogUrls": rekor_url, "tsaUrls": timestamp_url, "oidcUrls": oidc_issuer}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    for field, url in overrides.items():
        if url is not None:
            _check_url(url, field)
            document[field] = [{"url": url.rstrip("/"), "majorApiVersion": 1, "validFor": {"start": now},
                                "operator": "supplychain-flag"}]
    source = " + ".join(str(part) for part in (trusted_root, signing_config) if part is not None)
    return KeylessConfig(root, json.dumps(document).encode(), source or f"Sigstore {instance}")


def _check_url(url: str, what: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KeylessConfigError(f"{url!r} is not an http(s) URL (for {what})",
                                 hint="give the service's base URL, e.g. https://fulcio.sigstore.dev")


def _json(data: bytes, what: str) -> dict[str, Any]:
    from supplychain.formats.strictjson import JsonFormatError, loads_untrusted

    try:
        document = loads_untrusted(data)
    except JsonFormatError as exc:
        raise KeylessConfigError(f"{what} is not JSON: {exc.message}") from exc
    if not isinstance(document, dict):
        raise KeylessConfigError(f"{what} is not a JSON object")
    return document


# -- the identity token ----------------------------------------------------------------------------------------------


def check_identity_token(raw: str, *, now: float | None = None) -> dict[str, Any]:
    """The claims of an OIDC identity token, if Fulcio could take it: for audience ``sigstore``, within its
    validity period, with an issuer and a subject. The signature is not checked here (Fulcio does, against the
    issuer's JWKS; sigstore clients do not either). Each refusal is an ``IdentityTokenError`` naming the claim."""
    import jwt

    raw = raw.strip()
    try:
        claims = jwt.decode(raw, options={"verify_signature": False, "verify_aud": False, "verify_exp": False,
                                          "verify_iat": False, "verify_nbf": False})
    except jwt.PyJWTError as exc:
        raise IdentityTokenError(f"the identity token is not a JWT: {exc}",
                                 hint="give the raw token (three base64url parts separated by dots)") from exc
    now = time.time() if now is None else now
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if AUDIENCE not in audiences:
        raise IdentityTokenError(
            f"the identity token is for audience {audience!r}, not {AUDIENCE!r}: Fulcio refuses it",
            hint="request the token for audience 'sigstore' (GitHub Actions: id-token: write, and "
            "ACTIONS_ID_TOKEN_REQUEST_URL with &audience=sigstore)")
    expiry = claims.get("exp")
    if not isinstance(expiry, int | float):
        raise IdentityTokenError("the identity token has no expiry (exp claim)")
    if expiry + _CLOCK_LEEWAY < now:
        raise IdentityTokenError(
            f"the identity token expired at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(expiry))} "
            f"({int(now - expiry)} s ago)",
            hint="get a fresh token: identity tokens live minutes, so fetch one right before signing")
    not_before = claims.get("nbf")
    if isinstance(not_before, int | float) and not_before - _CLOCK_LEEWAY > now:
        raise IdentityTokenError("the identity token is not valid yet (nbf claim in the future)",
                                 hint="check this machine's clock")
    if not isinstance(claims.get("iss"), str) or not claims["iss"]:
        raise IdentityTokenError("the identity token has no issuer (iss claim)")
    if not any(isinstance(claims.get(name), str) and claims[name] for name in ("sub", "email")):
        raise IdentityTokenError("the identity token has no subject (neither a sub nor an email claim): there is "
                                 "no identity to certify")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise IdentityTokenError("the identity token has no sub claim (OpenID Connect requires one)")
    return claims


def identity_token(token: str | None, config: KeylessConfig, *, interactive: bool = False) -> IdentityToken:
    """The identity to sign as: ``token`` (the raw JWT), else ambient CI credentials (``sigstore.oidc.
    detect_credential``: GitHub Actions, GitLab, Buildkite, CircleCI, Google Cloud), else, when ``interactive``,
    the OAuth flow with the signing config's OIDC issuer (a browser). Each is checked (``check_identity_token``)."""
    from sigstore.oidc import IdentityError, IdentityToken, Issuer, detect_credential

    if token is None:
        try:
            token = detect_credential()
        except IdentityError as exc:
            raise IdentityTokenError(f"the CI job's OIDC credentials could not be read: {exc}") from exc
    if token is None and interactive:
        oidc_url = config.oidc_url
        if oidc_url is None:
            raise IdentityTokenError(f"{config.source} names no OIDC issuer for an interactive login",
                                     hint="give --oidc-issuer URL, or an --identity-token")
        try:
            return Issuer(oidc_url).identity_token()
        except Exception as exc:  # sigstore raises IssuerError, IdentityError, NetworkError, and requests' errors
            raise IdentityTokenError(f"the interactive login with {oidc_url} failed: {exc}") from exc
    if token is None:
        raise IdentityTokenError("no identity token: none was given, no CI credentials were found, and there is no "
                                 "terminal to log in on")
    check_identity_token(token)
    try:
        return IdentityToken(token.strip())
    except IdentityError as exc:
        raise IdentityTokenError(f"the identity token was refused: {exc}") from exc


# -- signing ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeylessSignature:
    """One keyless signature: its v0.3 bundle JSON, the raw signature, the leaf certificate (PEM) and the chain
    above it (PEM, from the trusted root's CA that issued it: a v0.3 bundle carries the leaf only, cosign's legacy
    ``dev.sigstore.cosign/chain`` annotation the rest)."""

    bundle: bytes
    parsed: Bundle  # ``bundle`` as read back once when it was made (its envelope and log entries)
    signature: bytes
    certificate_pem: str
    chain_pem: str | None = None

    def annotations(self) -> dict[str, str]:
        """cosign's legacy layer annotations for this certificate and chain (``dev.sigstore.cosign/certificate``,
        ``.../chain``), as a BYO-PKI ``SigningCertificate`` has them."""
        from supplychain.signing import legacy

        out = {legacy.CERTIFICATE_ANNOTATIONS[0]: self.certificate_pem}
        if self.chain_pem:
            out[legacy.CHAIN_ANNOTATIONS[0]] = self.chain_pem
        return out


class KeylessSigner:
    """One identity's signer: a certificate fetched once (``open_keyless_signer``), then any number of signatures
    made with its ephemeral key while the certificate is valid."""

    def __init__(self, signer: Signer, config: KeylessConfig, identity: str) -> None:
        self._signer = signer
        self.config = config
        self.identity = identity
        self._root: TrustedRoot | None = None

    def sign_message(self, data: bytes) -> KeylessSignature:
        """A message signature over ``data`` (ECDSA P-256 over SHA-256), logged as ``hashedrekord``."""
        return self._finish(lambda: self._signer.sign_artifact(data))

    def sign_statement(self, statement: bytes) -> KeylessSignature:
        """An in-toto statement (JSON bytes) in a DSSE envelope, logged as ``dsse``."""
        from sigstore.dsse import Statement

        try:
            parsed = Statement(statement)
        except Exception as exc:  # sigstore's pydantic model of an in-toto statement
            raise KeylessSigningError(f"not an in-toto statement: {exc}", hint="") from exc
        return self._finish(lambda: self._signer.sign_dsse(parsed))

    def _finish(self, sign: Any) -> KeylessSignature:
        from supplychain.formats.bundle import Bundle

        with _sigstore_errors("signing"):
            bundle = sign()
        data = bundle.to_json().encode()
        parsed = Bundle.parse(data)
        if not parsed.tlog_entries and not (parsed.rfc3161_timestamps and self.config.has_timestamp_authority):
            # sigstore always logs today; this is the rule, held here whatever a future client does.
            raise KeylessSigningError("the signing produced no transparency-log entry (and no trusted timestamp): "
                                      "a keyless signature is not made without one")
        certificate = parsed.certificate
        assert certificate is not None  # sigstore's bundles always carry the signing certificate
        signature = (parsed.envelope.signatures[0].sig if parsed.envelope is not None
                     else parsed.message_signature.signature if parsed.message_signature is not None else b"")
        return KeylessSignature(data, parsed, signature, _pem(certificate), self._chain(certificate))

    def _chain(self, leaf_der: bytes) -> str | None:
        """The chain of the trusted root's CA whose certificate issued ``leaf_der``, as PEM."""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        issuer = x509.load_der_x509_certificate(leaf_der).issuer
        if self._root is None:  # read once per signer, not per signature (sign --recursive signs many)
            self._root = TrustedRoot.parse(self.config.trusted_root, source=self.config.source)
        for authority in self._root.certificate_authorities:
            if authority.certificates and authority.certificates[0].subject == issuer:
                return "".join(cert.public_bytes(Encoding.PEM).decode("ascii") for cert in authority.certificates)
        return None


@contextmanager
def open_keyless_signer(config: KeylessConfig, token: IdentityToken) -> Iterator[KeylessSigner]:
    """A ``KeylessSigner`` for ``token``'s identity: sigstore's ``SigningContext`` over ``config``; the certificate
    is requested (and its SCT verified) here, before anything is signed."""
    from sigstore.models import ClientTrustConfig
    from sigstore.sign import SigningContext

    from supplychain.trust.create import build_client_trust_config

    with _sigstore_errors("reading the trust configuration"):
        trust = ClientTrustConfig.from_json(build_client_trust_config(config.trusted_root,
                                                                      config.signing_config).decode())
        context = SigningContext.from_trust_config(trust)
    with _sigstore_errors("getting a signing certificate"), context.signer(token) as signer:
        yield KeylessSigner(signer, config, token.identity)


@contextmanager
def _sigstore_errors(step: str) -> Iterator[None]:
    """sigstore's and requests' errors as ours, naming the step (their messages say which service)."""
    from supplychain.errors import SupplyChainError

    try:
        yield
    except SupplyChainError:
        raise
    except ValueError as exc:  # sigstore's protobuf models, and its signing config's service checks
        raise KeylessConfigError(f"{step}: {_detail(exc)}") from exc
    except Exception as exc:
        detail = _detail(exc)
        if "SCT" in detail or "certificate transparency" in detail.lower():
            raise KeylessSigningError(f"{step}: {detail}", hint="the certificate's SCT is from no CT log of the "
                                      "trusted root: give the trusted root of this Fulcio") from exc
        raise KeylessSigningError(f"{step}: {detail}") from exc


def _detail(exc: BaseException) -> str:
    """An exception's message with its cause's (sigstore wraps requests' errors in bare ones)."""
    parts: list[str] = []
    while exc is not None and len(parts) < 3:
        text = " ".join(str(exc).split())
        if text and text not in parts:
            parts.append(text)
        exc = exc.__cause__  # type: ignore[assignment]
    return ": ".join(parts) or type(exc).__name__


def _pem(der: bytes) -> str:
    body = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


__all__ = [
    "AUDIENCE",
    "IdentityTokenError",
    "KeylessConfig",
    "KeylessConfigError",
    "KeylessSignature",
    "KeylessSigner",
    "KeylessSigningError",
    "check_identity_token",
    "identity_token",
    "keyless_config",
    "open_keyless_signer",
]
