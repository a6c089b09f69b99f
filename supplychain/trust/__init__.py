"""What a verifier trusts, and when (row between ``keys`` and ``registry | layout | tlog``).

- ``root``: the whole Sigstore TrustedRoot v0.1 (``TrustedRoot``: tlogs, ctlogs, certificate authorities, timestamp
  authorities, each with its validity window), Sigstore's production and staging roots embedded from the
  ``sigstore`` package's data (``TrustedRoot.production()``), and ``select_keyring``;
- ``keyring``: log keys by log ID (``LogKeyring``, ``TrustedLog``), derived from a root or single key files;
- ``certificate``: PEM files of CA certificates of one's own (BYO PKI);
- ``create``: the writers: a TrustedRoot v0.1 for a private instance (``trusted-root create``) and a SigningConfig
  v0.2 naming a keyless signer's services;
- ``window``: validity windows; ``error``: the errors.

The names below are the package's public API (``from supplychain.trust import TrustedRoot``); importing the
package stays light: each submodule loads when one of its names is first used (``supplychain.lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.lazy import lazy_exports

if TYPE_CHECKING:
    from supplychain.trust.certificate import load_certificates
    from supplychain.trust.create import AuthoritySpec, LogSpec, build_signing_config, build_trusted_root, log_spec
    from supplychain.trust.error import (
        CertificateError,
        KeyValidityError,
        LogEntryError,
        NoLogKeyError,
        TrustedRootError,
        UnknownLogError,
    )
    from supplychain.trust.keyring import PUBLIC_GOOD_URL, LogKeyring, TrustedLog, public_key_keyring, read_public_key
    from supplychain.trust.root import (
        TRUSTED_ROOT_MEDIA_TYPE,
        CertificateAuthority,
        SigstoreInstance,
        TrustedRoot,
        load_trusted_root,
        read_trusted_root,
        select_keyring,
    )

__all__ = [
    "PUBLIC_GOOD_URL",
    "TRUSTED_ROOT_MEDIA_TYPE",
    "AuthoritySpec",
    "CertificateAuthority",
    "CertificateError",
    "KeyValidityError",
    "LogEntryError",
    "LogKeyring",
    "LogSpec",
    "NoLogKeyError",
    "SigstoreInstance",
    "TrustedLog",
    "TrustedRoot",
    "TrustedRootError",
    "UnknownLogError",
    "build_signing_config",
    "build_trusted_root",
    "load_certificates",
    "load_trusted_root",
    "log_spec",
    "public_key_keyring",
    "read_public_key",
    "read_trusted_root",
    "select_keyring",
]

# mypy reads the imports above; a module __getattr__ it could see would make every unknown name Any.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, {
        "supplychain.trust.certificate": ("load_certificates",),
        "supplychain.trust.create": (
            "AuthoritySpec", "LogSpec", "build_signing_config", "build_trusted_root", "log_spec",
        ),
        "supplychain.trust.error": (
            "CertificateError", "KeyValidityError", "LogEntryError", "NoLogKeyError", "TrustedRootError",
            "UnknownLogError",
        ),
        "supplychain.trust.keyring": (
            "PUBLIC_GOOD_URL", "LogKeyring", "TrustedLog", "public_key_keyring", "read_public_key",
        ),
        "supplychain.trust.root": (
            "TRUSTED_ROOT_MEDIA_TYPE", "CertificateAuthority", "SigstoreInstance", "TrustedRoot", "load_trusted_root",
            "read_trusted_root", "select_keyring",
        ),
    })
