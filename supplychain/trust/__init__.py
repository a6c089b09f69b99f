"""What a verifier trusts, and when (row between ``keys`` and ``registry | layout | tlog``).

- ``root``: the whole Sigstore TrustedRoot v0.1 (``TrustedRoot``: tlogs, ctlogs, certificate authorities, timestamp
  authorities, each with its validity window), Sigstore's production and staging roots embedded from the
  ``sigstore`` package's data (``TrustedRoot.production()``), and ``select_keyring``;
- ``keyring``: log keys by log ID (``LogKeyring``, ``TrustedLog``), derived from a root or single key files;
- ``certificate``: PEM files of CA certificates of one's own (BYO PKI);
- ``window``: validity windows; ``error``: the errors.

Import from the submodules (``supplychain.trust.root``...): this package stays light.
"""
