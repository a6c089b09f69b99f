"""Why a verification cannot be set up: one error class whose ``problem`` says what is missing or contradictory.

Library messages and hints never name command-line flags: the CLI maps each ``problem`` to its own flags.
"""

from __future__ import annotations

import re
from enum import StrEnum

from supplychain.errors import ConfigurationError


class SetupProblem(StrEnum):
    """What a verification set-up lacks or contradicts (the CLI names its flags for each)."""

    NO_SIGNER = "no-signer"  # neither public keys nor a certificate identity
    BOTH_SIGNERS = "both-signers"  # public keys and a certificate identity
    NO_IDENTITY = "no-identity"  # certificate options without the identity to require
    NO_ISSUER = "no-issuer"  # keyless (Fulcio) without the OIDC issuer to require
    ONLINE_AND_IGNORED = "online-and-ignored"  # confirm with the log, and ignore the log
    NO_REPOSITORY = "no-repository"  # a docker-reference check without the repository name it expects
    BAD_PATTERN = "bad-pattern"  # an identity or issuer pattern that is not a regular expression


class VerifySetupError(ConfigurationError):
    """A verification that cannot be set up: ``problem`` says what is missing; ``subject`` names the value concerned
    (``identity_regexp``, ``issuer_regexp``, an image reference), ``value`` and ``detail`` what was wrong with it."""

    default_hint = "name the public keys, or the certificate identity and OIDC issuer, to verify with"

    def __init__(self, problem: SetupProblem, message: str, *, hint: str | None = None, subject: str = "",
                 value: str = "", detail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.problem = problem
        self.subject = subject
        self.value = value
        self.detail = detail


def compile_pattern(pattern: str | None, subject: str) -> re.Pattern[str] | None:
    """``pattern`` compiled (Go ``regexp.MatchString`` semantics as cosign uses them: unanchored); ``subject`` is
    ``identity_regexp`` or ``issuer_regexp``."""
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        what = subject.removesuffix("_regexp")
        raise VerifySetupError(
            SetupProblem.BAD_PATTERN, f"the {what} pattern {pattern!r} is not a regular expression: {exc}",
            hint=f"fix the pattern (RE2/Python syntax, unanchored: ^...$ to anchor), or require the exact {what}",
            subject=subject, value=pattern, detail=str(exc),
        ) from exc
