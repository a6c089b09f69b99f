"""What a signature must satisfy (``VerifyPolicy``: pure data), and the one function that builds it from what a user
names (``VerifyRequest``: key files, a certificate identity, annotations, transparency-log requirements).

``build_verify_policy`` is what the CLI's ``verify`` calls, and what the policy engine, the CI gate and the admission
webhook will call: the same defaults everywhere. Like cosign, keyless verification defaults to Sigstore's production
trusted root (its Fulcio certificate authorities, each with its validity window) and the transparency log to the
production root's Rekor keys. Errors say what is missing (``VerifySetupError.problem``); the CLI maps them to its flags.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from supplychain.clock import Clock, utc_now
from supplychain.formats.intoto import COSIGN_SIGN_PREDICATE
from supplychain.keys import PublicKey
from supplychain.limits import DEFAULT_MAX_SIGNATURES, MAX_SIGNATURE_BYTES
from supplychain.trust.keyring import PUBLIC_GOOD_URL, LogKeyring
from supplychain.verify.certificate import CertificatePolicy
from supplychain.verify.error import SetupProblem, VerifySetupError
from supplychain.verify.evidence import Limits


@dataclass(frozen=True, slots=True)
class TlogPolicy:
    """Which logs to trust, and whether to ask the log itself too (data only: the ``Verifier`` owns the client).

    ``keyring`` ``None`` means the verifier's trusted root's logs (by default Sigstore's production root, read
    offline from the ``sigstore`` package, as cosign defaults to the public-good Rekor). ``online_url``: confirm each
    entry with the log at this URL (its keys from ``keyring`` check its checkpoints).
    """

    keyring: LogKeyring | None = None
    online_url: str | None = None


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """What a signature must satisfy (pure data: no client, no open file).

    Exactly one way to name the signer: ``keys`` (any of them), or ``certificate`` (a signing certificate from
    trusted roots naming an identity). The transparency log is required by default, checked offline with the
    verifier's trusted root (``TlogPolicy()``), as cosign requires Rekor evidence unless told otherwise;
    ``insecure_ignore_tlog`` turns that off (cosign's ``--insecure-ignore-tlog``: the signature is then trusted
    without any proof that it was ever made public). ``clock`` is the time a certificate is checked at when no log
    vouches for one. ``predicate_type``: what is verified, image signatures (cosign's sign predicate, the default)
    or attestations of this in-toto predicate type (``verify-attestation --type``): only those are gathered, and
    their signed statement must be of that type.
    """

    keys: tuple[PublicKey, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    check_claims: bool = True
    check_reference: bool = False
    limits: Limits = field(default_factory=Limits)
    certificate: CertificatePolicy | None = None
    tlog: TlogPolicy = field(default_factory=TlogPolicy)
    insecure_ignore_tlog: bool = False
    clock: Clock = utc_now
    # The predicateType a signed statement must have: cosign's image signature by default, verify-attestation's
    # --type; None: any statement naming the digest (verify-blob of a DSSE bundle).
    predicate_type: str | None = COSIGN_SIGN_PREDICATE
    tlog_threshold: int = 1  # distinct trusted logs that must have recorded the signature

    @property
    def attestations(self) -> bool:
        """Whether attestations of one predicate type are verified (not image signatures, not any statement)."""
        return self.predicate_type not in (None, COSIGN_SIGN_PREDICATE)

    def __post_init__(self) -> None:
        if not self.keys and self.certificate is None:
            raise VerifySetupError(SetupProblem.NO_SIGNER, "no public key or certificate identity to verify with")
        if self.keys and self.certificate is not None:
            raise VerifySetupError(SetupProblem.BOTH_SIGNERS, "give public keys or a certificate identity, not both",
                                   hint="public keys verify key-signed images; a certificate identity keyless ones")


@dataclass(frozen=True, slots=True)
class VerifyRequest:
    """A verification as a user names it: files and values, nothing read yet (``build_verify_policy`` reads them).

    ``keys``: public key references (paths, or ``env://VAR``). Or the certificate identity: ``identity`` /
    ``identity_regexp`` and ``issuer`` / ``issuer_regexp``, checked against ``ca_roots`` (PEM, BYO PKI) or the
    certificate authorities of ``trusted_root`` (default: Sigstore's production root). ``log_keys`` and
    ``trusted_root`` name the trusted transparency logs (default: the production root's, plus
    ``default_log_keys``, the local default log's key when no log was named); ``log_url`` is the log
    ``tlog_online`` asks.
    """

    keys: tuple[str, ...] = ()
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    ca_roots: Path | None = None
    ca_intermediates: Path | None = None
    trusted_root: Path | None = None
    annotations: tuple[str, ...] = ()
    check_claims: bool = True
    check_reference: bool = False
    max_signatures: int = DEFAULT_MAX_SIGNATURES
    max_signature_bytes: int = MAX_SIGNATURE_BYTES
    log_url: str = PUBLIC_GOOD_URL
    log_keys: tuple[Path, ...] = ()
    default_log_keys: LogKeyring | None = None
    tlog_online: bool = False
    insecure_ignore_tlog: bool = False
    insecure_ignore_sct: bool = False  # do not require an SCT of a trusted CT log in the signing certificate
    tlog_threshold: int = 1  # distinct trusted logs
    timestamp_threshold: int = 1  # distinct trusted time sources: logs' signed times and timestamp authorities
    # (Fulcio extension OID, required value): cosign's --certificate-github-workflow-* claims
    extension_values: tuple[tuple[str, str], ...] = ()
    # verify-attestation: the in-toto predicate type to verify; None: any statement naming the digest (verify-blob)
    predicate_type: str | None = COSIGN_SIGN_PREDICATE

    @property
    def certificate_given(self) -> bool:
        """Whether any certificate option was given."""
        return any((self.identity, self.identity_regexp, self.issuer, self.issuer_regexp, self.ca_roots,
                    self.ca_intermediates, self.extension_values))


def build_verify_policy(request: VerifyRequest) -> VerifyPolicy:
    """The ``VerifyPolicy`` for ``request``: keys read, the trusted root read once (its logs to the keyring, its
    certificate authorities to the certificate policy), Sigstore's production root where nothing else is named."""
    from supplychain import keys
    from supplychain.signing import parse_annotations
    from supplychain.trust.root import TrustedRoot

    if request.keys and request.certificate_given:
        raise VerifySetupError(SetupProblem.BOTH_SIGNERS, "give public keys or a certificate identity, not both",
                               hint="public keys verify key-signed images; a certificate identity keyless ones")
    if not request.keys and not request.certificate_given:
        raise VerifySetupError(SetupProblem.NO_SIGNER, "no public key or certificate identity to verify with")
    if request.insecure_ignore_tlog and request.tlog_online:
        raise VerifySetupError(SetupProblem.ONLINE_AND_IGNORED,
                               "confirming entries with the log contradicts ignoring the log",
                               hint="either ask the log online or ignore it, not both")
    public_keys = tuple(keys.read_public_key(ref) for ref in request.keys)
    root = None if request.trusted_root is None else TrustedRoot.read(request.trusted_root)
    certificate = None if request.keys else _certificate_policy(request, root)
    keyring = None if request.insecure_ignore_tlog else _keyring(request, root)
    limits = Limits(max_signatures=request.max_signatures, max_signature_bytes=request.max_signature_bytes)
    return VerifyPolicy(
        public_keys, parse_annotations(request.annotations), request.check_claims, request.check_reference, limits,
        certificate=certificate,
        tlog=TlogPolicy(keyring, request.log_url if request.tlog_online and keyring is not None else None),
        insecure_ignore_tlog=request.insecure_ignore_tlog,
        predicate_type=request.predicate_type,
        tlog_threshold=request.tlog_threshold,
    )


def _keyring(request: VerifyRequest, root: object) -> LogKeyring:
    """The log keys: key files and the trusted root's logs, else Sigstore's production root (read offline; a log at
    another URL must have its key named) with the local default log's key."""
    from supplychain.trust.keyring import check_log_url, normal_url, read_public_key
    from supplychain.trust.root import TrustedRoot, select_keyring

    if not request.log_keys and root is None:
        if request.default_log_keys is not None and normal_url(check_log_url(request.log_url)) == normal_url(
                PUBLIC_GOOD_URL):
            # The local default log's key first, Sigstore's root read only for an entry of another log (the same
            # answer as both read up front: LogKeyring.deferred): verifying what `sign` logged by default stays fast.
            return LogKeyring(request.default_log_keys.logs,
                              deferred=functools.partial(select_keyring, request.log_url, None, None))
        keyring = select_keyring(request.log_url, None, None)
        return keyring if request.default_log_keys is None else keyring.merged(request.default_log_keys)
    keyring = LogKeyring(())
    for path in request.log_keys:
        keyring = keyring.merged(read_public_key(path, request.log_url))
    if isinstance(root, TrustedRoot):
        keyring = keyring.merged(root.tlog_keyring())
    return keyring


def _certificate_policy(request: VerifyRequest, root: object) -> CertificatePolicy:
    from supplychain.trust.certificate import load_certificates
    from supplychain.trust.root import TrustedRoot

    if request.identity is None and request.identity_regexp is None:
        raise VerifySetupError(SetupProblem.NO_IDENTITY, "certificate-based verification needs the identity to require",
                               hint="require an identity (a SAN: email or URI), exactly or by pattern")
    if request.ca_roots is None and request.issuer is None and request.issuer_regexp is None:
        raise VerifySetupError(SetupProblem.NO_ISSUER, "keyless verification needs the OIDC issuer to require",
                               hint="require the OIDC issuer, exactly or by pattern (only certificates of one's own "
                               "CA roots, BYO PKI, may omit it)")
    intermediates = load_certificates(request.ca_intermediates, "intermediates file") if request.ca_intermediates \
        else ()
    identity = (request.identity, request.identity_regexp, request.issuer, request.issuer_regexp)
    given = root if isinstance(root, TrustedRoot) else None
    if request.ca_roots is not None:
        # BYO PKI: a private CA names no CT log, so SCTs are checked only against a trusted root's CT logs if one
        # is given too; its timestamp authorities likewise.
        return CertificatePolicy(
            load_certificates(request.ca_roots, "CA roots file"), intermediates, *identity,
            timestamp_authorities=given.timestamp_authorities if given else (),
            timestamp_threshold=request.timestamp_threshold,
            ctlogs=given.ctlogs if given and not request.insecure_ignore_sct else None,
            extension_values=request.extension_values)
    trusted = given or TrustedRoot.production()  # cosign's default: Fulcio's CAs
    return CertificatePolicy((), intermediates, *identity, authorities=trusted.certificate_authorities,
                             timestamp_authorities=trusted.timestamp_authorities,
                             timestamp_threshold=request.timestamp_threshold,
                             ctlogs=None if request.insecure_ignore_sct else trusted.ctlogs,
                             extension_values=request.extension_values)


def target_repository(reference_name: str | None, repository: str | None, check_reference: bool,
                      text: str) -> str | None:
    """The repository a docker-reference check expects for the image ``text``: ``reference_name`` if given, else the
    image's own (``None`` for a layout); ``VerifySetupError`` when the check needs one and there is none."""
    expected = reference_name or repository
    if check_reference and expected is None:
        raise VerifySetupError(SetupProblem.NO_REPOSITORY,
                               f"checking the docker-reference of {text} needs the repository name it must carry",
                               hint="an OCI layout has no repository name: give the one it was signed for",
                               subject=text)
    return expected

