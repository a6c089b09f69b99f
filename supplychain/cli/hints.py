"""Library errors say what is missing; the CLI says which flag supplies it. ``flag_hints`` rewrites the hint (and,
for set-up errors, the message) of library errors into the command line's words, as they cross into the CLI."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from supplychain.errors import SupplyChainError

# Library error class name -> the CLI's hint (by name: the CLI imports the library lazily, to start fast).
_HINTS = {
    "NoLogKeyError": "pass its public key with --rekor-public-key (a local log's is DIR/log.pub) or --trusted-root",
    "TrustedRootError": "give a Sigstore trusted_root.json (TrustedRoot v0.1), or the log's key with "
                        "--rekor-public-key",
    "CertificateError": "give PEM certificates (--ca-roots, --ca-intermediates)",
}

# verify.error.SetupProblem value -> the usage error ``verify`` reports (click's exit status 2).
_VERIFY_USAGE = {
    "no-signer": "give --key PUB, or --certificate-identity with --certificate-oidc-issuer",
    "both-signers": "give --key or the certificate options (--certificate-identity...), not both",
    "online-and-ignored": "--tlog-online and --insecure-ignore-tlog contradict each other",
    "no-identity": "certificate-based verification needs --certificate-identity or --certificate-identity-regexp",
    "no-issuer": "keyless verification needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp "
                 "(only --ca-roots, BYO PKI, may omit it)",
    "no-repository": "--check-reference on {subject} needs --reference-name REGISTRY/REPOSITORY",
}
_PATTERN_FLAGS = {"identity_regexp": "--certificate-identity-regexp",
                  "issuer_regexp": "--certificate-oidc-issuer-regexp"}


@contextlib.contextmanager
def flag_hints() -> Iterator[None]:
    """Re-raise library errors with the CLI's flags in their hints (see the module docstring)."""
    try:
        yield
    except SupplyChainError as exc:
        problem = str(getattr(exc, "problem", ""))
        if problem in _VERIFY_USAGE:
            raise click.UsageError(_VERIFY_USAGE[problem].format(subject=getattr(exc, "subject", ""))) from exc
        if problem == "bad-pattern":
            flag = _PATTERN_FLAGS[exc.subject]  # type: ignore[attr-defined]
            exc.message = f"{flag} {exc.value!r} is not a regular expression: {exc.detail}"  # type: ignore[attr-defined]
            exc.args = (exc.message,)
            exc.hint = (f"fix the pattern (RE2/Python syntax, unanchored: ^...$ to anchor), or pass the exact value "
                        f"with {flag.removesuffix('-regexp')}")
        elif type(exc).__name__ in _HINTS and exc.hint == type(exc).default_hint:
            exc.hint = _HINTS[type(exc).__name__]
        raise
