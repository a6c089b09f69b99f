"""Transparency logs: RFC 9162 Merkle proofs (``merkle``), C2SP signed-note checkpoints (``checkpoint``) and Rekor
entries with their signed entry timestamps (``entry``).

Import from the submodules; this package stays empty so that importing it costs nothing.
"""
