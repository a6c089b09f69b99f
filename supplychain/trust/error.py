"""The trust module's errors: a root or key file that cannot be used, evidence from an untrusted log or outside a
key's window. Hints say what is missing, never which command-line flag supplies it (the CLI adds that)."""

from __future__ import annotations

from supplychain.errors import ConfigurationError, InvalidInputError, VerificationError


class LogEntryError(VerificationError):
    """Transparency-log evidence for an entry that does not hold (the base of every log-evidence failure, here and
    in ``tlog.entry``)."""

    default_hint = ("the signature's log evidence does not prove it was logged: verify against the log it was "
                    "recorded in, or sign again to record it")


class TrustedRootError(ConfigurationError):
    """A trusted root that cannot be read or used."""

    default_hint = "give a Sigstore trusted_root.json (TrustedRoot v0.1), or the log's public key"


class UnknownLogError(LogEntryError):
    """Evidence from a log that no trusted key names."""

    default_hint = "the entry was made by another log; trust that log's public key, or a trusted root that lists it"


class KeyValidityError(LogEntryError):
    """A log key used outside its validity window."""

    default_hint = "the log key was not valid when the entry was made; the evidence cannot be trusted"


class CertificateError(InvalidInputError):
    """A certificate file that cannot be used as trust material."""

    default_hint = "give PEM certificates (-----BEGIN CERTIFICATE-----): the roots, and any intermediates"


class NoLogKeyError(ConfigurationError):
    """A transparency log at a URL whose key nobody named (only Sigstore's public-good log has a default)."""

    default_hint = "trust the log's public key (a local log's is DIR/log.pub), or a trusted root that lists it"
