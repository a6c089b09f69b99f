"""Caps on everything a registry or layout controls (STYLE.md section 4: "cap every size the server controls").

Defaults are conservative and overridable through ``supplychain.config.Settings``; these are the constants
both the registry client and the layout store fall back to.
"""

from __future__ import annotations

# Distribution spec, "Pushing manifests": registries SHOULD accept manifests of at least 4 MiB; we never read more.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# An index may list at most this many manifests; a manifest at most this many layers.
MAX_INDEX_ENTRIES = 10_000
MAX_LAYERS = 1_000
# Small JSON blobs we read whole (configs, signatures, attestations, SBOMs).
MAX_ATTACHMENT_BYTES = 128 * 1024 * 1024
# Any layer we stream (no default limit beyond the descriptor's size, but a sane ceiling).
MAX_BLOB_BYTES = 64 * 1024 * 1024 * 1024
