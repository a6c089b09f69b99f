"""Access to the third-party vectors in ``fixtures/vectors/`` and helpers that read Sigstore bundles and roots.

The bundle and trusted-root readers here are deliberately minimal test helpers (the product's readers belong to
the Rekor client and trust modules); they take the wire JSON apart field by field so a test can tamper with one.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from supplychain.formats.rekor import LogEntry
from supplychain.keys.log import LogKey, check_public_key
from supplychain.tlog.entry import InclusionProof

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "vectors"


def fixture_path(*parts: str) -> Path:
    """A file under ``fixtures/vectors/``; fail loudly if it is missing."""
    path = FIXTURES.joinpath(*parts)
    assert path.is_file(), f"missing fixture {path}"
    return path


def load_json(*parts: str) -> Any:
    return json.loads(fixture_path(*parts).read_text(encoding="utf-8"))


def log_keys(*trusted_root: str) -> dict[bytes, LogKey]:
    """The transparency-log keys of a ``trusted_root.json``, by log ID.

    Each key's log ID is computed, as Rekor v1 (SHA-256 of the DER key) or Rekor v2 (C2SP Ed25519 key hash under
    the base URL's host), and must equal the one the root declares.
    """
    keys: dict[bytes, LogKey] = {}
    for tlog in load_json(*trusted_root)["tlogs"]:
        declared = base64.b64decode(tlog["logId"]["keyId"])
        public_key = check_public_key(
            serialization.load_der_public_key(base64.b64decode(tlog["publicKey"]["rawBytes"]))
        )
        key = LogKey.from_public_key(public_key)
        if key.log_id != declared:
            assert isinstance(public_key, Ed25519PublicKey)
            key = LogKey.rekor_v2(urlsplit(tlog["baseUrl"]).hostname or "", public_key)
        assert key.log_id == declared, tlog["baseUrl"]
        keys[declared] = key
    return keys


@dataclass(frozen=True)
class BundleEntry:
    """The first tlog entry of a Sigstore bundle, in supplychain's types."""

    log_id: bytes
    body: bytes
    entry: LogEntry
    signed_entry_timestamp: bytes | None
    proof: InclusionProof | None


def bundle_entry(*path: str) -> BundleEntry:
    raw = load_json(*path)["verificationMaterial"]["tlogEntries"][0]
    log_id = base64.b64decode(raw["logId"]["keyId"])
    entry = LogEntry.from_base64(
        raw["canonicalizedBody"], int(raw.get("integratedTime", "0")), int(raw["logIndex"]), log_id.hex()
    )
    promise = raw.get("inclusionPromise")
    proof = raw.get("inclusionProof")
    return BundleEntry(
        log_id,
        entry.body,
        entry,
        base64.b64decode(promise["signedEntryTimestamp"]) if promise else None,
        InclusionProof.from_wire(
            int(proof["logIndex"]),
            int(proof["treeSize"]),
            proof["rootHash"],
            proof["hashes"],
            proof.get("checkpoint", {}).get("envelope"),
        )
        if proof
        else None,
    )


def cosign_annotations(*path: str) -> dict[str, str]:
    """The annotations of a containers/image ``dir:`` sigstore signature file (``0x00 sigstore-json\\n`` + JSON)."""
    data = fixture_path(*path).read_bytes()
    header, _, chunk = data.partition(b"\n")
    assert header == b"\x00sigstore-json"
    annotations: dict[str, str] = json.loads(chunk)["annotations"]
    return annotations
