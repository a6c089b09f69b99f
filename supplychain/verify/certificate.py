"""Certificate-based verification: the signing certificate of a keyless (Fulcio) or BYO-PKI signature.

cosign's flags: ``--certificate-identity`` / ``--certificate-identity-regexp``, ``--certificate-oidc-issuer`` /
``--certificate-oidc-issuer-regexp``, ``--ca-roots`` and ``--ca-intermediates``. What must hold (cosign
``pkg/cosign/verify.go`` ``ValidateAndUnpackCert``/``CheckCertificatePolicy``; containers/image
``signature/fulcio_cert.go`` and ``pki_cert.go``):

1. **The leaf** comes from the layer annotation ``dev.sigstore.cosign/certificate`` (either spelling, SPECS.md) or
   the bundle's ``verificationMaterial.certificate``; the signature must verify with its public key (that is the
   signature check, run with this key). Intermediates come from ``--ca-intermediates`` and the layer's
   ``dev.sigstore.cosign/chain`` annotation, whose *last* certificate (the root) is not used as an intermediate
   (containers/image): only ``--ca-roots`` are trust anchors. With ``--trusted-root`` instead, the trust anchors
   are its ``certificateAuthorities[]`` (``trust.root.TrustedRoot``), each tried on its own with only its own
   chain (and ``--ca-intermediates``), as sigstore-go does: the carried chain is not used, so an intermediate of a
   retired authority cannot be brought back through it.
2. **The chain** is built and verified by pyca/cryptography (``cryptography.x509.verification``, RFC 5280 path
   validation) at a fixed time: the transparency log's SET-verified ``integratedTime`` (a Fulcio certificate lives
   ten minutes; "now" would reject every keyless signature), or, when the log is deliberately ignored
   (``--insecure-ignore-tlog``, BYO PKI), the current time (containers/image's PKI mode). A log entry proven by
   an inclusion proof alone gives no time (its ``integratedTime`` is unsigned), and RFC 3161 signed timestamps
   are not verified here: such a signature fails this check, with that reason. A trusted root's authority is used
   only if that time is inside its ``validFor`` window (sigstore-go ``FulcioCertificateAuthority.Verify``): a
   certificate issued by a CA after the root retired it is refused, naming the CA and its window. Extension profile:
   Go's ``crypto/x509`` rules as cosign applies them, not the Web PKI's: CA certificates must have
   basicConstraints ``CA:TRUE`` and, if they have keyUsage, ``keyCertSign``; the leaf must not be a CA, and if it
   has extendedKeyUsage it must allow ``codeSigning`` (a leaf without one is unrestricted, as in Go).
3. **The identity**: a subject alternative name (email or URI) equal to ``--certificate-identity`` or matching
   ``--certificate-identity-regexp`` (Go ``regexp.MatchString`` semantics, as cosign: unanchored unless the
   pattern says ``^...$``), and the OIDC issuer from Fulcio's extension 1.3.6.1.4.1.57264.1.8 (a DER UTF8String)
   or the older 1.3.6.1.4.1.57264.1.1 (the raw string), which must agree when both are present, equal to
   ``--certificate-oidc-issuer`` or matching its regexp.

The transparency-log check, when it runs, also requires the log entry to record this certificate
(``verify.transparency``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from supplychain.clock import Clock, utc_now
from supplychain.errors import ConfigurationError, InvalidInputError
from supplychain.keys import PublicKey, load_public_key_der
from supplychain.signing import legacy
from supplychain.trust.keyring import LogKeyring
from supplychain.trust.root import CertificateAuthority
from supplychain.verify.check import CheckContext, Signer
from supplychain.verify.error import SetupProblem, VerifySetupError, compile_pattern
from supplychain.verify.evidence import SignatureEvidence
from supplychain.verify.result import CheckName, CheckOutcome
from supplychain.verify.sct import check_embedded_scts

ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")  # Fulcio: OIDC issuer, raw string (deprecated)
ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")  # Fulcio: OIDC issuer, DER UTF8String
_UTF8_STRING = 0x0C


@dataclass(frozen=True, slots=True)
class CertificatePolicy:
    """What the signing certificate must chain to and name.

    ``roots`` (``--ca-roots``) or ``authorities`` (a trusted root's ``certificateAuthorities``, each with its
    validity window): with authorities, ``roots`` is not used. ``identity``/``identity_regexp``: at least one is
    required (cosign). ``issuer``/``issuer_regexp``: optional only with roots of one's own (BYO PKI certificates
    carry no OIDC issuer); ``None`` for both means any issuer.
    """

    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    authorities: tuple[CertificateAuthority, ...] = ()
    # RFC 3161: the trusted root's timestampAuthorities, and how many distinct trusted time sources (logs whose SET
    # signed a time, and authorities) a signature needs (--timestamp-threshold).
    timestamp_authorities: tuple[CertificateAuthority, ...] = ()
    timestamp_threshold: int = 1
    # Certificate transparency: the trusted CT logs an embedded SCT must come from; None: SCTs are not checked
    # (--insecure-ignore-sct, or BYO PKI roots, which name no CT log).
    ctlogs: LogKeyring | None = None
    # Fulcio's GitHub workflow claims (extension OID dotted string, required value): cosign's
    # --certificate-github-workflow-* flags.
    extension_values: tuple[tuple[str, str], ...] = ()
    _patterns: tuple[re.Pattern[str] | None, re.Pattern[str] | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.roots and not any(authority.roots for authority in self.authorities):
            raise ConfigurationError("no trusted root certificate for certificate-based verification",
                                     hint="give root CA certificates, or a trusted root listing the certificate "
                                     "authorities (certificateAuthorities) to trust")
        if self.identity is None and self.identity_regexp is None:
            raise VerifySetupError(SetupProblem.NO_IDENTITY,
                                   "certificate-based verification needs the identity to require",
                                   hint="require an identity (a SAN: email or URI), exactly or by pattern")
        object.__setattr__(self, "_patterns", (compile_pattern(self.identity_regexp, "identity_regexp"),
                                               compile_pattern(self.issuer_regexp, "issuer_regexp")))

    def identity_matches(self, names: list[str]) -> bool:
        """Whether one of the certificate's SANs is the required identity."""
        pattern = self._patterns[0]
        return any(name == self.identity or (pattern is not None and pattern.search(name)) for name in names)

    def issuer_matches(self, issuer: str | None) -> bool:
        """Whether the certificate's OIDC issuer is the required one (any issuer when none is required)."""
        pattern = self._patterns[1]
        if self.issuer is None and pattern is None:
            return True
        return issuer is not None and (issuer == self.issuer or (pattern is not None and bool(pattern.search(issuer))))

    def describe_identity(self) -> str:
        return self.identity if self.identity is not None else f"matching /{self.identity_regexp}/"

    def describe_issuer(self) -> str:
        return self.issuer if self.issuer is not None else f"matching /{self.issuer_regexp}/"


# -- the leaf, before the signature check ------------------------------------------------------------------


def signer_of(evidence: SignatureEvidence) -> tuple[Signer | None, str | None]:
    """The leaf certificate (and carried chain) of a signature, as a ``Signer``; or why there is none."""
    chain: tuple[x509.Certificate, ...] = ()
    if evidence.bundle is not None:
        if evidence.bundle.certificate is None:
            return None, "expected a signing certificate in the bundle's verificationMaterial, got none"
        try:
            leaf = x509.load_der_x509_certificate(evidence.bundle.certificate)
        except ValueError as exc:
            return None, f"expected a signing certificate in the bundle, got one that does not parse: {exc}"
    else:
        pem = legacy.annotation_value(evidence.annotations, legacy.CERTIFICATE_ANNOTATIONS)
        if pem is None:
            return None, f"expected a signing certificate in the {legacy.CERTIFICATE_ANNOTATIONS[0]} annotation, " \
                         "got none"
        try:
            leaf = x509.load_pem_x509_certificate(pem.encode("utf-8"))
            chain_pem = legacy.annotation_value(evidence.annotations, legacy.CHAIN_ANNOTATIONS)
            chain = tuple(x509.load_pem_x509_certificates(chain_pem.encode("utf-8"))) if chain_pem else ()
        except ValueError as exc:
            return None, f"expected PEM certificates in the certificate annotations, got: {exc}"
    try:
        key = _public_key(leaf)
    except InvalidInputError as exc:
        return None, f"expected a signing certificate with a supported key, got: {exc.message}"
    return Signer(key, leaf, chain), None


def _public_key(certificate: x509.Certificate) -> PublicKey:
    spki = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    return load_public_key_der(spki)


# -- the check ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateCheck:
    """The signing certificate chains to the trusted roots at the log's time, and names the identity and issuer.

    ``at_current_time``: verify the chain now (the transparency log is ignored, so no time is vouched for).
    """

    policy: CertificatePolicy
    at_current_time: bool = False
    clock: Clock = utc_now
    name: CheckName = CheckName.CERTIFICATE
    description: str = "The code-signing certificate was verified using trusted certificate authority certificates"

    def run(self, evidence: SignatureEvidence, context: CheckContext) -> CheckOutcome:
        """The verdict on the signer's certificate (see the module docstring)."""
        leaf = context.signer.certificate
        if leaf is None:
            return CheckOutcome(self.name, False, "expected a signing certificate, got a public key only")
        times, problem = self._trusted_times(evidence, context)
        if problem is not None:
            return CheckOutcome(self.name, False, problem)
        verified: verification.VerifiedClient | None = None
        for when, source in times:  # the chain must hold at every trusted time (sigstore-python, sigstore-go)
            chained, unchained = self._chain(leaf, context.signer.chain, when, source)
            if chained is None:
                return CheckOutcome(self.name, False, unchained)
            verified = verified or chained
        assert verified is not None
        when = times[0][0]
        if self.policy.ctlogs is not None:
            if len(verified.chain) < 2:
                return CheckOutcome(self.name, False, "expected the signing certificate's issuer in its chain to "
                                                      "check its SCT against, got none")
            unlogged = check_embedded_scts(leaf, verified.chain[1], self.policy.ctlogs)
            if unlogged is not None:
                return CheckOutcome(self.name, False, unlogged)
        names = _identities(verified.subjects or [])
        if not self.policy.identity_matches(names):
            got = ", ".join(names) or "none"
            return CheckOutcome(self.name, False,
                                f"expected identity {self.policy.describe_identity()}, got {got}")
        issuer, problem = oidc_issuer(leaf)
        if problem is not None:
            return CheckOutcome(self.name, False, problem)
        if not self.policy.issuer_matches(issuer):
            return CheckOutcome(self.name, False,
                                f"expected OIDC issuer {self.policy.describe_issuer()}, got {issuer or 'none'}")
        for oid, wanted in self.policy.extension_values:
            have = _raw_extension(leaf, oid)
            if have != wanted:
                got = repr(have) if have is not None else "none"
                return CheckOutcome(self.name, False, f"expected the certificate's {_CLAIM_NAMES.get(oid, 'extension')}"
                                                      f" ({oid}) {wanted!r}, got {got}")
        subject = next(iter(names), "")
        detail = f"{subject} (issuer {issuer or 'none'}) at {_rfc3339(when)}, chain of {len(verified.chain)}"
        if len(times) > 1:
            detail += f", and at {len(times) - 1} more trusted times"
        optional = {"Issuer": issuer or "", "Subject": subject}
        return CheckOutcome(self.name, True, detail, optional=optional)

    def _trusted_times(self, evidence: SignatureEvidence, context: CheckContext
                       ) -> tuple[list[tuple[datetime, str]], str | None]:
        """The times the certificate must be valid at: the log's SET-signed integratedTime and each verified RFC
        3161 timestamp; at least ``timestamp_threshold`` distinct sources. Or why there are not enough."""
        times: list[tuple[datetime, str]] = []
        if context.log_time is not None:
            times.append((datetime.fromtimestamp(context.log_time, UTC), "the log's integratedTime"))
        bundle = evidence.bundle
        if bundle is not None and bundle.rfc3161_timestamps:
            if context.timestamp_problem is not None:
                return [], context.timestamp_problem
            stamps = context.timestamps  # verified once for the signature (verifier._check_one)
            times.extend((stamp.time, f"RFC 3161 timestamp of {stamp.authority.name or stamp.authority.where}")
                         for stamp in stamps)
            sources = len({stamp.authority.where for stamp in stamps}) + (context.log_time is not None)
        else:
            sources = len(times)
        if not times:
            if self.at_current_time:
                return [(self.clock(), "the current time (transparency log ignored)")], None
            if not context.log_verified:
                return [], ("expected a time vouched for by the transparency log or a timestamp authority to check "
                            "the certificate at, got none (the log check failed)")
            return [], _no_signed_time(evidence)
        if sources < self.policy.timestamp_threshold:
            return [], (f"expected trusted times from {self.policy.timestamp_threshold} distinct sources (logs and "
                        f"timestamp authorities), got {sources} (timestamps of one authority count once)")
        return times, None

    def _chain(
        self, leaf: x509.Certificate, carried: tuple[x509.Certificate, ...], when: datetime, source: str
    ) -> tuple[verification.VerifiedClient | None, str]:
        """The verified chain of ``leaf`` at ``when``, or why there is none (see the module docstring)."""
        at = f"{_rfc3339(when)} ({source})"
        if not self.policy.authorities:
            try:
                return self._verifier(when, self.policy.roots).verify(
                    leaf, [*carried[:-1], *self.policy.intermediates]), ""
            except (verification.VerificationError, ValueError) as exc:
                return None, f"expected a certificate chaining to the trusted roots at {at}, got: {exc}"
        moment = int(when.timestamp())
        current = [authority for authority in self.policy.authorities if authority.covers(moment)]
        problems = []
        for authority in current:
            try:
                return self._by(authority, leaf, when), ""
            except (verification.VerificationError, ValueError) as exc:
                problems.append(f"{authority.label}: {exc}")
        for authority in self.policy.authorities:
            if authority in current:
                continue
            try:
                self._by(authority, leaf, when)
            except (verification.VerificationError, ValueError):
                continue
            return None, (f"expected a certificate from a certificate authority valid at {at}, got one issued by "
                          f"{authority.label}, whose validity window in the trusted root is {authority.window}")
        if not problems:
            windows = "; ".join(f"{a.label}: {a.window}" for a in self.policy.authorities)
            return None, f"expected a certificate authority of the trusted root valid at {at}, got none ({windows})"
        return None, (f"expected a certificate chaining to a certificate authority of the trusted root at {at}, "
                      f"got: {'; '.join(problems)}")

    def _by(
        self, authority: CertificateAuthority, leaf: x509.Certificate, when: datetime
    ) -> verification.VerifiedClient:
        """``leaf`` verified at ``when`` against one authority's roots, with only its own intermediates (and
        ``--ca-intermediates``)."""
        if not authority.roots:
            raise ValueError("the authority's chain has no self-signed root")
        return self._verifier(when, authority.roots).verify(leaf, [*authority.intermediates,
                                                                   *self.policy.intermediates])

    def _verifier(self, when: datetime, roots: tuple[x509.Certificate, ...]) -> verification.ClientVerifier:
        critical = verification.Criticality.AGNOSTIC
        ca_policy = (verification.ExtensionPolicy.permit_all()
                     .require_present(x509.BasicConstraints, critical, _must_be_ca)
                     .may_be_present(x509.KeyUsage, critical, _may_sign_certificates))
        ee_policy = (verification.ExtensionPolicy.permit_all()
                     .may_be_present(x509.BasicConstraints, critical, _must_not_be_ca)
                     .may_be_present(x509.ExtendedKeyUsage, critical, _allows_code_signing))
        return (verification.PolicyBuilder()
                .store(verification.Store(list(roots)))
                .time(when)
                .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
                .build_client_verifier())


def _no_signed_time(_evidence: SignatureEvidence) -> str:
    """Why a signature whose log entry verified still has no time to check its certificate at."""
    return ("expected a signed time to check the certificate at, got none: the log entry has no signed entry "
            "timestamp (its integratedTime is not signed by the log; a Rekor v2 entry has none), and the bundle "
            "has no RFC 3161 timestamp")


def _must_be_ca(_policy: verification.Policy, _cert: x509.Certificate, value: x509.BasicConstraints) -> None:
    if not value.ca:
        raise ValueError("an issuer certificate is not a CA (basicConstraints CA:FALSE)")


def _may_sign_certificates(_policy: verification.Policy, _cert: x509.Certificate, value: x509.KeyUsage | None) -> None:
    if value is not None and not value.key_cert_sign:
        raise ValueError("an issuer certificate's keyUsage does not allow keyCertSign")


def _must_not_be_ca(_policy: verification.Policy, _cert: x509.Certificate, value: x509.BasicConstraints | None) -> None:
    if value is not None and value.ca:
        raise ValueError("the signing certificate is a CA certificate")


def _allows_code_signing(
    _policy: verification.Policy, _cert: x509.Certificate, value: x509.ExtendedKeyUsage | None
) -> None:
    allowed = {ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    if value is not None and not allowed & set(value):
        raise ValueError("the signing certificate's extendedKeyUsage does not include codeSigning")


def _identities(names: list[x509.GeneralName]) -> list[str]:
    """Email and URI subject alternative names, the identities cosign matches."""
    return [str(name.value) for name in names
            if isinstance(name, x509.RFC822Name | x509.UniformResourceIdentifier)]


def oidc_issuer(certificate: x509.Certificate) -> tuple[str | None, str | None]:
    """The OIDC issuer Fulcio recorded (extension .1.8, else .1.1), or why it is unusable."""
    values = {}
    for oid in (ISSUER_V2, ISSUER_V1):
        try:
            extension = certificate.extensions.get_extension_for_oid(oid)
        except x509.ExtensionNotFound:
            continue
        raw = extension.value.value if isinstance(extension.value, x509.UnrecognizedExtension) else b""
        text = _utf8_string(raw) if oid == ISSUER_V2 else _text(raw)
        if text is None:
            return None, f"expected a UTF-8 OIDC issuer in certificate extension {oid.dotted_string}, got bad bytes"
        values[oid] = text
    if len(values) == 2 and values[ISSUER_V1] != values[ISSUER_V2]:
        return None, (f"expected the certificate's two OIDC issuer extensions to agree, got "
                      f"{values[ISSUER_V2]!r} (1.8) and {values[ISSUER_V1]!r} (1.1)")
    return values.get(ISSUER_V2, values.get(ISSUER_V1)), None


# Fulcio's GitHub workflow extensions (fulcio docs/oid-info.md, the deprecated raw-string ones cosign compares).
GITHUB_WORKFLOW_TRIGGER = "1.3.6.1.4.1.57264.1.2"
GITHUB_WORKFLOW_SHA = "1.3.6.1.4.1.57264.1.3"
GITHUB_WORKFLOW_NAME = "1.3.6.1.4.1.57264.1.4"
GITHUB_WORKFLOW_REPOSITORY = "1.3.6.1.4.1.57264.1.5"
GITHUB_WORKFLOW_REF = "1.3.6.1.4.1.57264.1.6"
_CLAIM_NAMES = {GITHUB_WORKFLOW_TRIGGER: "GitHub workflow trigger", GITHUB_WORKFLOW_SHA: "GitHub workflow sha",
                GITHUB_WORKFLOW_NAME: "GitHub workflow name", GITHUB_WORKFLOW_REPOSITORY: "GitHub workflow repository",
                GITHUB_WORKFLOW_REF: "GitHub workflow ref"}


def _raw_extension(certificate: x509.Certificate, oid: str) -> str | None:
    """The raw-string value of a Fulcio extension (as cosign reads the 1.1 to 1.6 ones), or ``None``."""
    try:
        extension = certificate.extensions.get_extension_for_oid(ObjectIdentifier(oid))
    except x509.ExtensionNotFound:
        return None
    raw = extension.value.value if isinstance(extension.value, x509.UnrecognizedExtension) else b""
    return _text(raw)


def _text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _utf8_string(der: bytes) -> str | None:
    """A DER ``UTF8String`` (tag 12, definite length) as text."""
    if len(der) < 2 or der[0] != _UTF8_STRING:
        return None
    length, offset = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 2 or len(der) < 2 + count:
            return None
        length, offset = int.from_bytes(der[2:2 + count], "big"), 2 + count
    if len(der) != offset + length:
        return None
    return _text(der[offset:])


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
