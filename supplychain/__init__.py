"""supplychain: sign, attest and verify OCI images."""

__version__ = "0.1.0"
