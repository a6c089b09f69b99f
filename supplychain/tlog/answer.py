"""Rekor v1 API answers, read strictly: the ``LogEntry`` map (``GET /api/v1/log/entries/{uuid}``, ``POST`` answers,
``rekor-cli get --format json``, read by ``evidence.parse_log_entries``), the log's info (``GET /api/v1/log``), a
consistency proof (``GET /api/v1/log/proof``) and a search answer (``POST /api/v1/index/retrieve``), named as
Rekor's ``openapi.yaml`` names them.

Untrusted JSON (STYLE.md section 6), after ``strictjson.loads_untrusted`` (duplicate keys, wide numbers and deep
nesting already refused), read by ``formats.schema``'s readers: exact JSON types (an integer is a JSON integer, not
a string or a boolean), required fields, extra fields ignored, proof lengths bounded. Written out rather than as
pydantic models: pydantic's import and validator building were ~150 ms of every ``sign`` and ``sign-blob`` that
logs an entry (docs/architecture.md, "Fast start"), for four small shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from supplychain.formats.bundle import MAX_PROOF_HASHES  # the one cap on a proof's hashes, bundles' and answers'
from supplychain.formats.schema import JsonReader, path, type_name


@dataclass(frozen=True, slots=True)
class V1Proof:
    """``verification.inclusionProof``: hex hashes."""

    logIndex: int
    rootHash: str
    treeSize: int
    hashes: tuple[str, ...]
    checkpoint: str | None = None


@dataclass(frozen=True, slots=True)
class V1Verification:
    """``verification``: the inclusion proof and the SET, each optional."""

    inclusionProof: V1Proof | None = None
    signedEntryTimestamp: str | None = None


@dataclass(frozen=True, slots=True)
class V1Entry:
    """One value of the ``LogEntry`` map."""

    body: str
    integratedTime: int
    logID: str
    logIndex: int
    verification: V1Verification


@dataclass(frozen=True, slots=True)
class V1LogInfo:
    """``GET /api/v1/log``: the tree head (``treeID`` a decimal string, absent on some logs)."""

    rootHash: str
    treeSize: int
    signedTreeHead: str
    treeID: str | None


@dataclass(frozen=True, slots=True)
class V1ConsistencyProof:
    """``GET /api/v1/log/proof``."""

    rootHash: str
    hashes: tuple[str, ...]


def read_log_entries(document: object, read: JsonReader) -> dict[str, V1Entry]:
    """The ``LogEntry`` map ``{uuid: entry}``; each refusal ``read.error("<uuid>.<field>: <problem>")``."""
    entries = read.object(document, "")
    return {uuid: _entry(read.object(value, uuid), uuid, read) for uuid, value in entries.items()}


def _entry(obj: dict[str, Any], where: str, read: JsonReader) -> V1Entry:
    verification = V1Verification()
    if obj.get("verification") is not None:
        at = path(where, "verification")
        found = read.child(obj, "verification", where)
        proof = None
        if found.get("inclusionProof") is not None:
            proof = _inclusion_proof(read.child(found, "inclusionProof", at), path(at, "inclusionProof"), read)
        verification = V1Verification(proof, read.optional_string(found, "signedEntryTimestamp", at))
    return V1Entry(read.string(obj, "body", where), read.integer(obj, "integratedTime", where),
                   read.string(obj, "logID", where), read.integer(obj, "logIndex", where), verification)


def _inclusion_proof(obj: dict[str, Any], where: str, read: JsonReader) -> V1Proof:
    return V1Proof(read.integer(obj, "logIndex", where), read.string(obj, "rootHash", where),
                   read.integer(obj, "treeSize", where), _hashes(obj, where, read),
                   read.optional_string(obj, "checkpoint", where))


def _hashes(obj: dict[str, Any], where: str, read: JsonReader) -> tuple[str, ...]:
    at = path(where, "hashes")
    items = read.array(obj, "hashes", where, most=MAX_PROOF_HASHES)
    for number, item in enumerate(items):
        if not isinstance(item, str):
            raise read.error(f"{at}.{number}: expected a string, got {type_name(item)}")
    return tuple(items)


def read_log_info(document: object, read: JsonReader) -> V1LogInfo:
    """The log's info object."""
    obj = read.object(document, "")
    return V1LogInfo(read.string(obj, "rootHash", ""), read.integer(obj, "treeSize", ""),
                     read.string(obj, "signedTreeHead", ""), read.optional_string(obj, "treeID", ""))


def read_consistency_proof(document: object, read: JsonReader) -> V1ConsistencyProof:
    """A consistency proof object."""
    obj = read.object(document, "")
    return V1ConsistencyProof(read.string(obj, "rootHash", ""), _hashes(obj, "", read))


def read_uuids(document: object, read: JsonReader) -> list[str]:
    """A search answer: a JSON array of strings."""
    if not isinstance(document, list):
        raise read.error(f"expected an array, got {type_name(document)}")
    for number, item in enumerate(document):
        if not isinstance(item, str):
            raise read.error(f"{number}: expected a string, got {type_name(item)}")
    return document


__all__ = [
    "V1ConsistencyProof",
    "V1Entry",
    "V1LogInfo",
    "V1Proof",
    "V1Verification",
    "read_consistency_proof",
    "read_log_entries",
    "read_log_info",
    "read_uuids",
]
