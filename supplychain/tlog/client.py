"""A Rekor v1 REST client that checks every answer (Rekor ``openapi.yaml``; issue 4, item 2).

Endpoints: ``POST /api/v1/log/entries`` (``hashedrekord``/``dsse`` 0.0.1), ``GET /api/v1/log/entries/{uuid}``,
``GET /api/v1/log/entries?logIndex=N``, ``POST /api/v1/index/retrieve`` (search), ``GET /api/v1/log`` (tree size,
root hash, signed checkpoint), ``GET /api/v1/log/proof?firstSize=&lastSize=`` (consistency) and
``GET /api/v1/log/publicKey``.

Nothing the log says is taken on trust:

* a created entry's body must be the entry we sent (hash, signature, key; ``EntryMismatchError``);
* an entry fetched by UUID must be under that UUID, and every UUID must be its body's leaf hash (``EntryUuidError``);
  an entry fetched by index must have that index;
* every entry's SET must verify with a trusted key whose log ID the entry names and whose validity window holds its
  integration time, and its inclusion proof must reach a checkpoint signed by that key (``evidence.verify_entry``);
* a log-info answer's tree size and root must be those of its checkpoint, signed by a trusted key valid now;
* answers are capped in size (``MAX_RESPONSE_BYTES``) and must be well-formed JSON (``RekorResponseError``).

Faults: 429/502/503/504 are retried with backoff (``transport.send``, bounded by ``Settings.retries``); other 5xx
and exhausted retries raise ``RekorServerError``; timeouts and refused connections ``RekorUnavailableError``;
409 ``DuplicateEntryError`` (or the existing entry with ``existing_ok=True``); 404 ``EntryNotFoundError``;
400/413/422 ``RekorRejectedError``. A 404 from an endpoint every Rekor v1 log has (``/api/v1/log``, its key, proofs,
uploads, searches), or an answer there that is not Rekor's JSON, means the URL names no Rekor log
(``NotARekorLogError``). The ``httpx.Client`` is injected (``client=``), or built by ``RekorClient.open`` through
``supplychain.transport.build_client``.

The URL may carry user info (``https://user:password@host``, for a log behind basic auth): it is sent with every
request but never shown; ``url`` (what messages, ``sign`` and the monitor's state file use) is the URL without it
(``trust.display_url``). As the registry client does, credentials are refused over plain HTTP to a host that is not
loopback.
"""

from __future__ import annotations

import abc
import base64
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from supplychain import transport
from supplychain.config import Settings
from supplychain.errors import (
    InvalidInputError,
    NotFoundError,
    TLSError,
    UnavailableError,
    UnsafeRequestError,
)
from supplychain.formats.rekor import DsseProposal, HashedRekord
from supplychain.formats.schema import JsonReader
from supplychain.formats.strictjson import JsonFormatError, NumberError, loads_untrusted
from supplychain.keys.log import LogKey, LogKeyError, load_public_key
from supplychain.tlog.answer import read_consistency_proof, read_log_info, read_uuids
from supplychain.tlog.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    parse_checkpoint,
    parse_rekor_origin,
    verify_checkpoint,
)
from supplychain.tlog.entry import EntryInclusionError
from supplychain.tlog.evidence import (
    EntryUuidError,
    EntryVerification,
    RekorEntry,
    RekorResponseError,
    parse_log_entries,
    same_entry,
    split_uuid,
    verify_entry,
)
from supplychain.tlog.kind import body_mismatches
from supplychain.tlog.merkle import ConsistencyProofError, verify_consistency
from supplychain.tlog.note import NoteSignatureError, SignedNoteError
from supplychain.trust.keyring import LogKeyring, TrustedLog, check_log_url, display_url

MAX_RESPONSE_BYTES = 4 << 20
"""Largest answer read from a log (an entry with a certificate chain is a few KiB; a search answer is a UUID list)."""

MAX_SEARCH_RESULTS = 10_000
MAX_LOG_INDEX = 2**63 - 1
"""Rekor's log indexes (and tree sizes) are int64."""

_JSON = "application/json"
_UNAVAILABLE_HINT = "check --rekor-url and that the log is running; for a slow log raise SUPPLYCHAIN_TIMEOUT"


class RekorUnavailableError(UnavailableError):
    """The transparency log could not be reached or did not answer in time."""

    default_hint = _UNAVAILABLE_HINT


class RekorServerError(RekorUnavailableError):
    """The log answered with a server error (after retries) or a status the API does not define."""

    default_hint = "the transparency log is failing; retry later, or check the log's own logs"


class RekorRejectedError(InvalidInputError):
    """The log refused our request as invalid (HTTP 400, 413, 422)."""

    default_hint = "the log refused the entry: check the signature, key and digest you are uploading"


class DuplicateEntryError(RekorRejectedError):
    """The entry is already in the log (HTTP 409); ``uuid`` names the existing entry."""

    default_hint = "the same entry was logged before; fetch it with `supplychain tlog get --uuid`"

    def __init__(self, uuid: str) -> None:
        super().__init__(f"the entry is already in the transparency log as {uuid}")
        self.uuid = uuid


class EntryNotFoundError(NotFoundError):
    """No entry with that UUID or index (HTTP 404)."""

    default_hint = "check the UUID or index, and that --rekor-url names the log that holds the entry"


class NotARekorLogError(RekorUnavailableError):
    """The URL answers, but not as a Rekor v1 log: ``/api/v1/...`` is missing or does not answer Rekor's JSON."""

    default_hint = (
        "check --rekor-url: it must be the base URL of a Rekor v1 log (the one serving /api/v1/log), "
        "e.g. http://127.0.0.1:3000 for `supplychain tlog serve`, not a registry or another service"
    )


_LOOKUP_REFUSED_HINT = "the log refused the lookup: check the UUID or index you asked for"


class EntryMismatchError(RekorResponseError):
    """The log answered with an entry whose body is not the one we sent or asked for."""


@dataclass(frozen=True, slots=True)
class VerifiedEntry:
    """An entry and what was proven about it; ``created`` is False when an upload found it already logged (409)."""

    entry: RekorEntry
    verification: EntryVerification
    created: bool = True


@dataclass(frozen=True, slots=True)
class LogInfo:
    """The log's verified current state."""

    checkpoint: Checkpoint
    signed_tree_head: str
    tree_id: int | None
    log: TrustedLog


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """A consistency proof from ``first_size`` to ``last_size`` (unverified), and the root the log gave for it."""

    first_size: int
    last_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]


class EntryLog(abc.ABC):
    """A log signatures are recorded in, by one ``create_entry`` (a ``RekorClient``, or the embedded local log
    ``tlog.server.embedded.EmbeddedLog``): the entry kinds as shortcuts, and closing as a context manager."""

    url: str  # where the log is, for messages

    @abc.abstractmethod
    def create_entry(self, proposal: HashedRekord | DsseProposal, *, existing_ok: bool = True) -> VerifiedEntry:
        """Log ``proposal`` and return the verified entry (``created=False`` for one already logged)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the log holds."""

    def create_hashedrekord(self, record: HashedRekord, *, existing_ok: bool = True) -> VerifiedEntry:
        """Log a signature over a digest; return the verified entry (see ``create_entry``)."""
        return self.create_entry(record, existing_ok=existing_ok)

    def create_dsse(self, envelope: bytes, public_keys: list[bytes], *, existing_ok: bool = True) -> VerifiedEntry:
        """Log a DSSE envelope (its exact JSON bytes) signed by the PEM ``public_keys``."""
        return self.create_entry(DsseProposal(envelope, tuple(public_keys)), existing_ok=existing_ok)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class RekorClient(EntryLog):
    """A client for one Rekor v1 log at ``url``, trusting the keys in ``keyring``."""

    def __init__(
        self,
        url: str,
        keyring: LogKeyring,
        *,
        client: httpx.Client,
        retry: transport.RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        require_inclusion_proof: bool = True,
    ) -> None:
        parts = urlsplit(check_log_url(url))
        self._base = url.rstrip("/")  # with its user info, if any: requests carry it (httpx sends basic auth)
        self.url = display_url(self._base)
        self.keyring = keyring
        self._client = client
        self._retry = retry or transport.RetryPolicy()
        self._clock = clock
        self._cap = max_response_bytes
        self._require_inclusion = require_inclusion_proof
        self._host = transport.url_host(httpx.URL(self.url))
        if parts.scheme == "http" and (parts.username or parts.password) and not transport.is_loopback(self._host):
            raise UnsafeRequestError(
                f"refusing to send the credentials in --rekor-url to the transparency log at {self._host} over "
                "plain HTTP",
                hint="use https:// for a log that needs credentials; only a log on this machine (loopback) may "
                "receive them over plain HTTP",
            )

    @classmethod
    def open(
        cls, url: str, keyring: LogKeyring, settings: Settings, *, client_transport: httpx.BaseTransport | None = None
    ) -> RekorClient:
        """A client with the house TLS, timeout and retry policy; plain HTTP only to loopback or insecure hosts."""
        parts = urlsplit(url)
        host = transport.url_host(httpx.URL(url)) if parts.hostname else display_url(url)
        if parts.scheme == "http" and not transport.allows_plain_http(host, settings):
            raise UnsafeRequestError(
                f"refusing plain HTTP to the transparency log at {host}",
                hint="use https://, or for a test log list the host in SUPPLYCHAIN_INSECURE_REGISTRIES",
            )
        client = transport.build_client(
            settings, host, insecure=transport.is_insecure(host, settings), transport=client_transport
        )
        return cls(url, keyring, client=client, retry=transport.RetryPolicy.from_settings(settings))

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    # -- entries ------------------------------------------------------------------------------------------------

    def create_entry(self, proposal: HashedRekord | DsseProposal, *, existing_ok: bool = True) -> VerifiedEntry:
        """``POST /api/v1/log/entries``; check the logged body is ``proposal`` and verify SET and proof.

        The POST is retried on 502/503/504 like a GET: a repeat can only log the same entry or answer 409 (when the
        first attempt was logged but its answer lost). On 409 the existing entry is fetched by the ``Location`` the
        log gives, checked to be ``proposal`` and verified, and returned with ``created=False``; with
        ``existing_ok=False`` a 409 raises ``DuplicateEntryError`` instead.
        """
        content = json.dumps(proposal.proposed_entry(), separators=(",", ":")).encode()
        status, headers, body = self._call("POST", "/api/v1/log/entries", content=content, replayable=True)
        if status == 404:
            raise self._not_a_log("POST /api/v1/log/entries", status, body)
        if status == 409:
            uuid = self._conflict_uuid(headers, body)
            if not existing_ok:
                raise DuplicateEntryError(uuid)
            existing = self.get_entry(uuid)
            self._check_body(existing.entry, proposal)
            return VerifiedEntry(existing.entry, existing.verification, created=False)
        self._expect(status, body, 201)
        entry = self._single(parse_log_entries(body))
        etag = str(headers.get("ETag", "")).strip('"').lower()
        if etag and not _names_entry(etag, entry.uuid):
            raise EntryUuidError(f"the log's ETag {etag[:100]} does not name the entry it returned ({entry.uuid})")
        self._check_body(entry, proposal)
        return self.verify(entry)

    def get_entry(self, uuid: str) -> VerifiedEntry:
        """``GET /api/v1/log/entries/{uuid}``: the verified entry, which must be the one asked for."""
        uuid = uuid.lower()
        try:
            split_uuid(uuid)
        except EntryUuidError as exc:  # what the user asked for, not what the log answered
            raise InvalidInputError(exc.message, hint=exc.hint) from exc
        status, _, body = self._call("GET", f"/api/v1/log/entries/{uuid}")
        if status == 404:
            raise EntryNotFoundError(f"no entry {uuid} in the transparency log at {self.url}")
        self._expect(status, body, 200, rejected_hint=_LOOKUP_REFUSED_HINT)
        entry = self._single(parse_log_entries(body))
        if not same_entry(uuid, entry.uuid):
            raise EntryUuidError(f"asked the log for entry {uuid}, it returned entry {entry.uuid}")
        return self.verify(entry)

    def get_entry_by_index(self, index: int) -> VerifiedEntry:
        """``GET /api/v1/log/entries?logIndex=N``: the verified entry, which must have that index."""
        if isinstance(index, bool) or index < 0:
            raise InvalidInputError(f"log index {index} is negative", hint="log indexes start at 0")
        if index > MAX_LOG_INDEX:
            raise InvalidInputError(
                f"log index {index} is out of range", hint="a Rekor log index is between 0 and 2^63-1"
            )
        status, _, body = self._call("GET", "/api/v1/log/entries", params={"logIndex": str(index)})
        if status == 404:
            raise EntryNotFoundError(f"no entry at index {index} in the transparency log at {self.url}")
        self._expect(status, body, 200, rejected_hint=_LOOKUP_REFUSED_HINT)
        entry = self._single(parse_log_entries(body))
        if entry.log_index != index:
            raise RekorResponseError(f"asked the log for entry {index}, it returned entry {entry.log_index}")
        return self.verify(entry)

    def verify(self, entry: RekorEntry) -> VerifiedEntry:
        """Verify an entry the log just gave with the trusted keys (SET required; inclusion proof unless configured
        off: every Rekor v1 log returns one with each entry)."""
        try:
            verification = verify_entry(
                entry, self.keyring, require_timestamp=True, require_inclusion=self._require_inclusion
            )
        except EntryInclusionError as exc:
            if entry.inclusion_proof is not None:
                raise
            raise EntryInclusionError(
                f"the transparency log at {self.url} returned entry {entry.log_index} without an inclusion proof",
                hint="Rekor v1 logs prove inclusion with every entry they return: check that --rekor-url names a "
                "Rekor v1 log (an older or other log cannot be used here)",
            ) from exc
        return VerifiedEntry(entry, verification)

    def confirm_entry(self, entry: RekorEntry) -> VerifiedEntry:
        """Online check of evidence held offline: the log still holds ``entry`` (same body, index, time and log)
        and proves its inclusion in its current tree; a checkpoint in the evidence must be consistent with it."""
        fetched = self.get_entry(entry.uuid)
        mine, theirs = entry.entry, fetched.entry.entry
        if (mine.body, mine.log_index, mine.integrated_time, mine.log_id) != (
            theirs.body, theirs.log_index, theirs.integrated_time, theirs.log_id
        ):
            raise EntryMismatchError(
                f"the log's entry {fetched.entry.uuid} differs from the evidence (index {theirs.log_index} vs "
                f"{mine.log_index}, time {theirs.integrated_time} vs {mine.integrated_time})"
            )
        held = None if entry.inclusion_proof is None else entry.inclusion_proof.checkpoint
        new = fetched.verification.checkpoint
        if held is not None and new is not None:
            old = verify_checkpoint(held, fetched.verification.log.note_verifier())
            if old.origin == new.origin:  # a sharded log proves consistency within one shard (tree) only
                self.prove_consistency(old, new)
        return fetched

    def search_by_hash(self, digest: str) -> list[str]:
        """``POST /api/v1/index/retrieve`` ``{"hash": "sha256:<hex>"}``: UUIDs of entries for an artifact hash."""
        algorithm, _, value = digest.lower().rpartition(":")
        algorithm = algorithm or "sha256"
        hex_digits = bool(value) and all(c in "0123456789abcdef" for c in value)
        if algorithm not in ("sha256", "sha384", "sha512") or not hex_digits:
            raise InvalidInputError(f"{digest!r} is not a digest", hint="write sha256:<64 hex digits>")
        return self._search({"hash": f"{algorithm}:{value}"})

    def search_by_public_key(self, pem: bytes) -> list[str]:
        """``POST /api/v1/index/retrieve`` ``{"publicKey": {"format": "x509", "content": ...}}``."""
        return self._search({"publicKey": {"format": "x509", "content": base64.b64encode(pem).decode()}})

    def _search(self, query: dict[str, Any]) -> list[str]:
        content = json.dumps(query).encode()
        status, _, body = self._call("POST", "/api/v1/index/retrieve", content=content, replayable=True)
        self._expect(status, body, 200, endpoint="POST /api/v1/index/retrieve", rejected_hint=_LOOKUP_REFUSED_HINT)
        uuids = read_uuids(_answer(body, "the log's search answer is not a list of UUIDs"),
                           _reader("the log's search answer is not a list of UUIDs"))
        if len(uuids) > MAX_SEARCH_RESULTS:
            raise RekorResponseError(f"the log's search answer lists more than {MAX_SEARCH_RESULTS} entries")
        for uuid in uuids:
            split_uuid(uuid.lower())
        return [uuid.lower() for uuid in uuids]

    # -- the tree -------------------------------------------------------------------------------------------------

    def log_info(self) -> LogInfo:
        """``GET /api/v1/log``: the current tree head, its checkpoint verified with a key trusted now."""
        status, _, body = self._call("GET", "/api/v1/log")
        self._expect(status, body, 200, endpoint="GET /api/v1/log")
        try:
            document = loads_untrusted(body)
        except NumberError as exc:  # the log's JSON, but with a number past uint64: a bad answer, not another server
            raise RekorResponseError(f"GET /api/v1/log: {exc}") from exc
        except JsonFormatError:
            document = None
        if not isinstance(document, dict) or not {"treeSize", "rootHash", "signedTreeHead"} <= set(document):
            raise self._not_a_log("GET /api/v1/log", status, body, what="does not answer Rekor's log info JSON")
        size = document["treeSize"]
        number = int(size) if isinstance(size, str) and size.isdecimal() and size.isascii() else size
        if isinstance(number, int) and not isinstance(number, bool) and not 0 <= number <= MAX_LOG_INDEX:
            raise RekorResponseError(f"the log's treeSize {str(size)[:40]} is out of range (0 to 2^63-1)")
        info = read_log_info(document, _reader("the log's info is malformed"))
        signed = parse_checkpoint(info.signedTreeHead)
        log = self._checkpoint_signer(signed)
        checkpoint = verify_checkpoint(signed, log.note_verifier())
        root = _hex(info.rootHash, "rootHash")
        if (checkpoint.size, checkpoint.root_hash) != (info.treeSize, root):
            raise RekorResponseError(
                f"the log says tree size {info.treeSize} root {info.rootHash}, but its checkpoint says size "
                f"{checkpoint.size} root {checkpoint.root_hash.hex()}"
            )
        _, origin_tree = parse_rekor_origin(checkpoint.origin)
        tree_id = int(info.treeID) if info.treeID and info.treeID.isdigit() else None
        if tree_id is not None and origin_tree is not None and tree_id != origin_tree:
            raise RekorResponseError(f"the log says tree {tree_id}, but its checkpoint is for tree {origin_tree}")
        return LogInfo(checkpoint, info.signedTreeHead, tree_id if tree_id is not None else origin_tree, log)

    def _checkpoint_signer(self, signed: SignedCheckpoint) -> TrustedLog:
        now = int(self._clock())
        current = self.keyring.valid_at(now)
        problem: SignedNoteError | None = None
        for log in current:
            try:
                verify_checkpoint(signed, log.note_verifier())
            except SignedNoteError as exc:
                problem = exc
                continue
            return log
        if problem is not None and not isinstance(problem, NoteSignatureError):
            raise problem
        names = ", ".join(f"{sig.name} ({sig.key_id.hex()})" for sig in signed.note.signatures)
        raise NoteSignatureError(
            f"the checkpoint of {self.url} is not signed by any trusted log key valid now; signed by: {names}"
        )

    def consistency_proof(self, first_size: int, last_size: int) -> ConsistencyProof:
        """``GET /api/v1/log/proof``: a consistency proof between two sizes (``1 <= first <= last``), unverified."""
        if first_size < 1 or last_size < first_size:
            raise InvalidInputError(
                f"no consistency proof from size {first_size} to {last_size}",
                hint="sizes must satisfy 1 <= firstSize <= lastSize (RFC 9162 2.1.4: nothing is proven from 0)",
            )
        params = {"firstSize": str(first_size), "lastSize": str(last_size)}
        status, _, body = self._call("GET", "/api/v1/log/proof", params=params)
        self._expect(status, body, 200, endpoint="GET /api/v1/log/proof")
        what = "the log's consistency proof is malformed"
        proof = read_consistency_proof(_answer(body, what), _reader(what))
        hashes = tuple(_hex(value, "consistency proof hash") for value in proof.hashes)
        return ConsistencyProof(first_size, last_size, _hex(proof.rootHash, "rootHash"), hashes)

    def prove_consistency(self, old: Checkpoint, new: Checkpoint) -> None:
        """Prove that the tree of ``old`` is a prefix of the tree of ``new`` (both already verified checkpoints).

        Raise ``ConsistencyProofError`` for a smaller ``new`` (rollback), equal sizes with other roots, or a proof
        that does not verify (RFC 9162 2.1.4.2): each means the log showed two different histories.
        """
        if old.size == 0:
            return  # the empty tree is a prefix of every tree
        if new.size < old.size:
            raise ConsistencyProofError(f"the log went back from size {old.size} to {new.size}")
        if new.size == old.size:
            verify_consistency(old.size, new.size, [], old.root_hash, new.root_hash)
            return
        proof = self.consistency_proof(old.size, new.size)
        if proof.root_hash != new.root_hash:
            raise ConsistencyProofError(
                f"the log's proof is for root {proof.root_hash.hex()} at size {new.size}, its checkpoint says "
                f"{new.root_hash.hex()}"
            )
        verify_consistency(old.size, new.size, proof.hashes, old.root_hash, new.root_hash)

    def public_key(self) -> LogKey:
        """``GET /api/v1/log/publicKey``: the key the log says it signs with (not trusted: compare it yourself)."""
        status, _, body = self._call("GET", "/api/v1/log/publicKey", accept="application/x-pem-file")
        self._expect(status, body, 200, endpoint="GET /api/v1/log/publicKey")
        if not body.lstrip().startswith(b"-----BEGIN"):
            raise self._not_a_log("GET /api/v1/log/publicKey", status, body, what="does not answer a PEM key")
        try:
            return LogKey.from_public_key(load_public_key(body))
        except LogKeyError as exc:
            raise RekorResponseError(f"the log's public key is unusable: {exc}") from exc

    # -- plumbing ---------------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        replayable: bool | None = None,
        accept: str = _JSON,
    ) -> tuple[int, httpx.Headers, bytes]:
        headers = {"Accept": accept}
        if content is not None:
            headers["Content-Type"] = _JSON
        request = self._client.build_request(method, self._base + path, params=params, content=content,
                                             headers=headers)
        try:
            response = transport.send(self._client, request, auth=None, policy=self._retry, replayable=replayable)
        except TLSError as exc:
            raise TLSError(f"transparency log: {exc.message}", hint=self._tls_hint(exc)) from exc
        except UnavailableError as exc:
            raise RekorUnavailableError(f"transparency log: {exc.message}") from exc
        try:
            return response.status_code, response.headers, self._read(response)
        finally:
            transport.release(response)

    def _read(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self._cap:
            raise RekorResponseError(f"the log's answer is {declared} bytes, more than the {self._cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self._cap:
                    raise RekorResponseError(f"the log's answer is larger than the {self._cap}-byte cap")
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise RekorUnavailableError(
                f"transparency log: {transport.map_transport_error(exc, host=self._host)}"
            ) from exc
        return b"".join(chunks)

    def _tls_hint(self, exc: TLSError) -> str:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            return (f"if the log at {self._host} uses a private CA, pass its certificate with --ca-file; check that "
                    "--rekor-url names the host its certificate is for")
        return (f"check that {self._host} serves HTTPS on that port; a local log (`supplychain tlog serve`) speaks "
                f"plain HTTP: use --rekor-url http://{self._host}")

    def _expect(
        self, status: int, body: bytes, wanted: int, *, endpoint: str | None = None, rejected_hint: str | None = None
    ) -> None:
        """Map an unwanted status; ``endpoint`` names a path every Rekor v1 log serves (a 404 there: not a log)."""
        if status == wanted:
            return
        message = _error_message(body)
        if status in (400, 413, 422):
            raise RekorRejectedError(f"the transparency log refused the request (HTTP {status}): {message}",
                                     hint=rejected_hint)
        if status == 404 and endpoint is not None:
            raise self._not_a_log(endpoint, status, body)
        if status == 404:
            raise EntryNotFoundError(f"the transparency log at {self.url} answered 404: {message}")
        raise RekorServerError(f"the transparency log at {self.url} answered HTTP {status}: {message}")

    def _not_a_log(self, endpoint: str, status: int, body: bytes, *, what: str = "") -> NotARekorLogError:
        answer = what or f"answers {endpoint} with HTTP {status}"
        return NotARekorLogError(
            f"{self.url} is not a Rekor transparency log: it {answer} ({_error_message(body)[:100]})"
        )

    def _conflict_uuid(self, headers: httpx.Headers, body: bytes) -> str:
        # Rekor answers 409 with Location: /api/v1/log/entries/<uuid> (openapi.yaml "Conflict").
        location = str(headers.get("Location", ""))
        uuid = location.rstrip("/").rpartition("/")[2].lower()
        try:
            split_uuid(uuid)
        except EntryUuidError as exc:
            raise RekorResponseError(
                f"the log answered 409 without a usable entry Location ({location[:100]!r}): {_error_message(body)}"
            ) from exc
        return uuid

    @staticmethod
    def _single(entries: list[RekorEntry]) -> RekorEntry:
        if len(entries) != 1:
            raise RekorResponseError(f"the log returned {len(entries)} entries, expected one")
        return entries[0]

    @staticmethod
    def _check_body(entry: RekorEntry, proposal: HashedRekord | DsseProposal) -> None:
        problems = body_mismatches(entry.entry.body, proposal)
        if problems:
            raise EntryMismatchError(
                f"the log's entry {entry.uuid} is not the entry we sent: {'; '.join(problems)}",
                hint="the log (or something between us and it) substituted another entry; do not trust it",
            )


def _names_entry(uuid: str, returned: str) -> bool:
    try:
        return same_entry(uuid, returned)
    except EntryUuidError:
        return False


def _hex(text: str, what: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError as exc:
        raise RekorResponseError(f"{what} {text[:80]!r} is not hex") from exc
    if len(value) != 32:
        raise RekorResponseError(f"{what} is {len(value)} bytes, expected 32")
    return value


def _reader(what: str) -> JsonReader:
    """The strict reader of one kind of answer, each refusal ``RekorResponseError("<what>: <path>: <problem>")``."""
    return JsonReader(lambda problem: RekorResponseError(f"{what}: {problem}"))


def _answer(body: bytes, what: str) -> Any:
    """The strict JSON document of an answer, or ``RekorResponseError("<what>: <why>")``."""
    try:
        return loads_untrusted(body)
    except JsonFormatError as exc:
        raise RekorResponseError(f"{what}: {exc}") from exc


def _json_document(body: bytes) -> Any:
    """The JSON document of an answer, or None if it is not JSON (deep nesting included)."""
    try:
        return loads_untrusted(body)
    except JsonFormatError:  # not strict JSON: bad syntax or UTF-8, duplicate keys, wide numbers, deep nesting
        return None


def _error_message(body: bytes) -> str:
    """Rekor's ``{"code", "message"}`` error text, else the start of the body, on one line."""
    document = _json_document(body)
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        text = str(document["message"])
    else:
        text = body[:300].decode("utf-8", "replace")
    return " ".join(text.split())[:300] or "(no message)"

