"""RekorClient against a real in-process log, with faults injected through ``httpx.MockTransport``: answers a
correct server never gives (5xx, hangs, foreign bodies, wrong UUIDs, SETs and proofs that do not hold, junk)."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from supplychain.errors import ExitCode, IntegrityError, InvalidInputError, UnavailableError, VerificationError
from supplychain.formats.rekor import LogEntry
from supplychain.keys.log import NoteSigner, create_signature
from supplychain.tlog.checkpoint import CheckpointFormatError, CheckpointMismatchError, sign_checkpoint
from supplychain.tlog.client import (
    DuplicateEntryError,
    EntryMismatchError,
    EntryNotFoundError,
    NotARekorLogError,
    RekorClient,
    RekorRejectedError,
    RekorServerError,
    RekorUnavailableError,
)
from supplychain.tlog.entry import EntryTimestampError
from supplychain.tlog.evidence import EntryUuidError, RekorResponseError
from supplychain.tlog.merkle import ConsistencyProofError, InclusionProofError, MerkleTree, hash_leaf
from supplychain.tlog.note import NoteSignatureError
from supplychain.tlog.server.directory import generate_key
from supplychain.trust.error import KeyValidityError, UnknownLogError
from supplychain.trust.keyring import LogKeyring, TrustedLog
from tests.support.tlog import InProcessLog, Signer, no_wait_retry, statement

Fault = Callable[[httpx.Request, httpx.Response], httpx.Response]


@pytest.fixture
def signer() -> Signer:
    return Signer()


def rewrite_json(change: Callable[[Any], Any], *, when: Callable[[httpx.Request], bool] = lambda _: True) -> Fault:
    """A fault that rewrites the JSON of matching answers."""

    def fault(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if not when(request):
            return response
        document = change(response.json())
        return httpx.Response(response.status_code, headers={"Content-Type": "application/json"}, json=document)

    return fault


def only_value(document: dict[str, Any]) -> dict[str, Any]:
    (value,) = document.values()
    assert isinstance(value, dict)
    return value


def is_post(request: httpx.Request) -> bool:
    return request.method == "POST"


# -- the happy paths -----------------------------------------------------------------------------------------


def test_create_and_fetch_hashedrekord(rekor: InProcessLog, signer: Signer) -> None:
    with rekor.client() as client:
        created = client.create_hashedrekord(signer.hashedrekord(b"artifact"))
        assert created.verification.timestamp_verified
        assert created.verification.checkpoint is not None and created.verification.checkpoint.size == 1
        assert created.entry.tree_id == rekor.log.tree_id
        assert client.get_entry(created.entry.uuid).entry.entry == created.entry.entry
        assert client.get_entry(created.entry.uuid[16:]).entry.uuid == created.entry.uuid  # bare leaf hash works
        assert client.get_entry_by_index(0).entry.uuid == created.entry.uuid
        digest = signer.hashedrekord(b"artifact").digest.hex()
        assert client.search_by_hash(f"sha256:{digest}") == [created.entry.uuid]
        assert client.search_by_hash(digest.upper()) == [created.entry.uuid]
        assert client.search_by_public_key(signer.pem) == [created.entry.uuid]
        assert client.public_key().log_id == rekor.directory.log_key().log_id


def test_create_dsse(rekor: InProcessLog, signer: Signer) -> None:
    payload = statement("ab" * 32)
    with rekor.client() as client:
        created = client.create_dsse(signer.envelope(payload), [signer.pem])
        assert created.entry.kind == "dsse"
        assert client.search_by_hash("sha256:" + "ab" * 32) == [created.entry.uuid]  # in-toto subject indexed


def test_consistency_between_checkpoints(rekor: InProcessLog, signer: Signer) -> None:
    with rekor.client() as client:
        client.create_hashedrekord(signer.hashedrekord(b"one"))
        old = client.log_info().checkpoint
        for n in range(5):
            client.create_hashedrekord(signer.hashedrekord(b"more %d" % n))
        new = client.log_info().checkpoint
        client.prove_consistency(old, new)
        client.prove_consistency(new, new)
        with pytest.raises(ConsistencyProofError, match="went back"):
            client.prove_consistency(new, old)


def test_duplicate_is_an_error_or_the_existing_entry(rekor: InProcessLog, signer: Signer) -> None:
    proposal = signer.hashedrekord(b"twice")
    with rekor.client() as client:
        first = client.create_hashedrekord(proposal)
        again = client.create_hashedrekord(proposal)
        assert (again.entry, again.created, first.created) == (first.entry, False, True)
        with pytest.raises(DuplicateEntryError) as caught:
            client.create_hashedrekord(proposal, existing_ok=False)
        assert caught.value.uuid == first.entry.uuid


def test_confirm_entry_online(rekor: InProcessLog, signer: Signer) -> None:
    with rekor.client() as client:
        created = client.create_hashedrekord(signer.hashedrekord(b"held offline"))
        client.create_hashedrekord(signer.hashedrekord(b"later"))
        confirmed = client.confirm_entry(created.entry)  # the held checkpoint (size 1) is proven a prefix of size 2
        assert confirmed.verification.checkpoint is not None and confirmed.verification.checkpoint.size == 2


def test_confirm_entry_detects_a_forked_history(rekor: InProcessLog, signer: Signer) -> None:
    """Evidence holding a checkpoint (validly signed) of another history than the log now shows."""
    import dataclasses

    with rekor.client() as client:
        held = client.create_hashedrekord(signer.hashedrekord(b"held")).entry
        client.create_hashedrekord(signer.hashedrekord(b"later"))
        assert held.inclusion_proof is not None
        fork = sign_checkpoint(rekor.log.origin, 1, bytes(32), rekor.directory.signer())
        forked = dataclasses.replace(held, inclusion_proof=dataclasses.replace(held.inclusion_proof, checkpoint=fork))
        with pytest.raises(ConsistencyProofError):
            client.confirm_entry(forked)


# -- faults: availability ------------------------------------------------------------------------------------


def test_5xx_then_ok_is_retried(rekor: InProcessLog, signer: Signer) -> None:
    calls: list[str] = []

    def flaky(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503, json={"code": 503, "message": "busy"}) if len(calls) == 1 else response

    with rekor.faulty_client(flaky) as client:
        entry = client.create_hashedrekord(signer.hashedrekord(b"retry me"))
    # The first POST was logged but its answer lost (503): the retry meets a 409 and fetches the entry.
    assert calls == ["POST", "POST", "GET"]
    assert not entry.created and entry.entry.log_index == 0


def test_5xx_forever_gives_up(rekor: InProcessLog) -> None:
    calls: list[str] = []

    def down(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(502, text="bad gateway")

    with rekor.faulty_client(down, retry=no_wait_retry(3)) as client, pytest.raises(RekorServerError) as caught:
        client.log_info()
    assert len(calls) == 4
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert "502" in str(caught.value)


def test_500_is_not_retried(rekor: InProcessLog) -> None:
    calls: list[str] = []

    def broken(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(500, json={"code": 500, "message": "trillian said no"})

    with rekor.faulty_client(broken) as client, pytest.raises(RekorServerError, match="trillian said no"):
        client.get_entry_by_index(0)
    assert len(calls) == 1


def test_hanging_log_times_out() -> None:
    """A real socket that accepts and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    keyring = LogKeyring(())
    try:
        with (
            RekorClient(url, keyring, client=httpx.Client(timeout=0.3), retry=no_wait_retry()) as client,
            pytest.raises(RekorUnavailableError, match="timed out") as caught,
        ):
            client.log_info()
        assert isinstance(caught.value, UnavailableError)
        assert "SUPPLYCHAIN_TIMEOUT" in caught.value.hint
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


def test_connection_refused() -> None:
    port = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{port.getsockname()[1]}"
    port.close()
    with (
        RekorClient(url, LogKeyring(()), client=httpx.Client(timeout=2), retry=no_wait_retry()) as client,
        pytest.raises(RekorUnavailableError, match="refused"),
    ):
        client.log_info()


def test_404_and_rejections(rekor: InProcessLog, signer: Signer) -> None:
    with rekor.client() as client:
        with pytest.raises(EntryNotFoundError):
            client.get_entry("00" * 32)
        with pytest.raises(EntryNotFoundError):
            client.get_entry_by_index(7)
        with pytest.raises(InvalidInputError, match="negative"):
            client.get_entry_by_index(-1)
        with pytest.raises(InvalidInputError, match="not 64") as caught:  # the user's input, not the log's answer
            client.get_entry("not-a-uuid")
        assert caught.value.exit_code == ExitCode.INVALID_INPUT
        with pytest.raises(InvalidInputError, match="out of range") as caught:
            client.get_entry_by_index(10**23)
        assert "upload" not in caught.value.hint
        with pytest.raises(InvalidInputError, match="from size 0"):
            client.consistency_proof(0, 1)
        bad = signer.hashedrekord(b"x")
        forged = type(bad)(bad.algorithm, bytes(32), bad.signature, bad.public_key)
        with pytest.raises(RekorRejectedError, match="400"):
            client.create_hashedrekord(forged)


def test_409_without_location(rekor: InProcessLog, signer: Signer) -> None:
    def conflict(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return httpx.Response(409, json={"code": 409, "message": "exists"})

    with rekor.faulty_client(conflict) as client, pytest.raises(RekorResponseError, match="Location"):
        client.create_hashedrekord(signer.hashedrekord(b"y"))


# -- faults: answers that are not what was asked for -------------------------------------------------------------


def test_created_body_that_is_not_ours(rekor: InProcessLog, signer: Signer) -> None:
    with rekor.client() as client:
        foreign = client.create_hashedrekord(Signer().hashedrekord(b"someone else's")).entry.to_wire()

    def substitute(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.method != "POST":
            return response
        return httpx.Response(201, json=foreign)

    with rekor.faulty_client(substitute) as client, pytest.raises(EntryMismatchError) as caught:
        client.create_hashedrekord(signer.hashedrekord(b"mine"))
    assert isinstance(caught.value, IntegrityError)
    assert "hash: expected" in str(caught.value) and "public key" in str(caught.value)


def test_same_digest_other_key_is_not_ours(rekor: InProcessLog, signer: Signer) -> None:
    """CVE-2022-23649-style splice: the same artifact signed by another key is not our entry."""
    with rekor.client() as client:
        foreign = client.create_hashedrekord(Signer().hashedrekord(b"shared artifact")).entry.to_wire()
    substitute = rewrite_json(lambda _: foreign, when=is_post)
    with rekor.faulty_client(substitute) as client, pytest.raises(EntryMismatchError, match="signature"):
        client.create_hashedrekord(signer.hashedrekord(b"shared artifact"))


def test_entry_for_another_uuid(rekor: InProcessLog, signer: Signer) -> None:
    with rekor.client() as client:
        asked = client.create_hashedrekord(signer.hashedrekord(b"asked")).entry.uuid
        other = client.create_hashedrekord(signer.hashedrekord(b"other")).entry.to_wire()
    with rekor.faulty_client(rewrite_json(lambda _: other)) as client:
        with pytest.raises(EntryUuidError, match="returned entry") as caught:
            client.get_entry(asked)
        assert caught.value.exit_code == ExitCode.INTEGRITY
        with pytest.raises(RekorResponseError, match="asked the log for entry 0"):
            client.get_entry_by_index(0)


def test_uuid_that_is_not_the_body_hash(rekor: InProcessLog, signer: Signer) -> None:
    """The answer is keyed by the UUID asked for, but holds another entry's body."""
    with rekor.client() as client:
        asked = client.create_hashedrekord(signer.hashedrekord(b"asked")).entry.uuid
        other = only_value(client.create_hashedrekord(signer.hashedrekord(b"other")).entry.to_wire())
    with (
        rekor.faulty_client(rewrite_json(lambda _: {asked: other})) as client,
        pytest.raises(EntryUuidError, match="not the leaf hash of its body"),
    ):
        client.get_entry(asked)


def test_etag_naming_another_entry(rekor: InProcessLog, signer: Signer) -> None:
    def etag(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        headers = response.headers.copy()
        headers["ETag"] = "ab" * 32
        return httpx.Response(response.status_code, headers=headers, content=response.content)

    with rekor.faulty_client(etag) as client, pytest.raises(EntryUuidError, match="ETag"):
        client.create_hashedrekord(signer.hashedrekord(b"etag"))


# -- faults: evidence that does not hold -------------------------------------------------------------------------


def test_set_over_different_fields(rekor: InProcessLog, signer: Signer) -> None:
    def later(doc: Any) -> Any:
        only_value(doc)["integratedTime"] += 1
        return doc

    with rekor.faulty_client(rewrite_json(later, when=is_post)) as client, pytest.raises(EntryTimestampError):
        client.create_hashedrekord(signer.hashedrekord(b"t"))


def test_set_from_another_log(rekor: InProcessLog, other_rekor: InProcessLog, signer: Signer) -> None:
    """An entry (valid SET and proof) from another log is refused: its log ID is not trusted."""
    proposal = signer.hashedrekord(b"logged elsewhere")
    with other_rekor.client() as client:
        foreign = client.create_hashedrekord(proposal).entry.to_wire()
    with (
        rekor.faulty_client(rewrite_json(lambda _: foreign, when=is_post)) as client,
        pytest.raises(UnknownLogError) as caught,
    ):
        client.create_hashedrekord(proposal)
    assert isinstance(caught.value, VerificationError)


def test_set_signed_by_another_key(rekor: InProcessLog, signer: Signer) -> None:
    """The SET names our log and covers the right fields, but is someone else's signature."""
    impostor = generate_key("ecdsa-p256")

    def forge(doc: Any) -> Any:
        value = only_value(doc)
        entry = LogEntry.from_base64(value["body"], value["integratedTime"], value["logIndex"], value["logID"])
        forged = create_signature(impostor, entry.timestamp_payload())
        value["verification"]["signedEntryTimestamp"] = base64.b64encode(forged).decode()
        return doc

    with rekor.faulty_client(rewrite_json(forge, when=is_post)) as client, pytest.raises(EntryTimestampError):
        client.create_hashedrekord(signer.hashedrekord(b"forged SET"))


def test_tampered_inclusion_proof(rekor: InProcessLog, signer: Signer) -> None:
    with rekor.client() as client:
        for n in range(4):
            client.create_hashedrekord(signer.hashedrekord(b"filler %d" % n))

    def tamper(doc: Any) -> Any:
        proof = only_value(doc)["verification"]["inclusionProof"]
        proof["hashes"][0] = "00" * 32
        return doc

    with rekor.faulty_client(rewrite_json(tamper, when=is_post)) as client, pytest.raises(InclusionProofError):
        client.create_hashedrekord(signer.hashedrekord(b"tampered proof"))


def test_proof_for_another_leaf(rekor: InProcessLog, signer: Signer) -> None:
    with rekor.client() as client:
        for n in range(4):
            client.create_hashedrekord(signer.hashedrekord(b"filler %d" % n))
        other_proof = only_value(client.get_entry_by_index(1).entry.to_wire())["verification"]["inclusionProof"]

    def swap(doc: Any) -> Any:
        value = only_value(doc)
        other_proof["logIndex"] = value["logIndex"]  # same position claim, someone else's path
        value["verification"]["inclusionProof"] = other_proof
        return doc

    with (
        rekor.faulty_client(rewrite_json(swap, when=lambda r: r.method == "GET")) as client,
        pytest.raises(InclusionProofError),
    ):
        client.get_entry_by_index(2)


def test_proof_that_does_not_reach_the_signed_root(rekor: InProcessLog, signer: Signer) -> None:
    """A self-consistent proof for entry 0 into a tree the log never signed: the checkpoint does not match it."""
    with rekor.client() as client:
        client.create_hashedrekord(signer.hashedrekord(b"first"))
        client.create_hashedrekord(signer.hashedrekord(b"second"))

    def reroot(doc: Any) -> Any:
        value = only_value(doc)
        tree = MerkleTree([hash_leaf(base64.b64decode(value["body"])), hash_leaf(b"invented")])
        proof = value["verification"]["inclusionProof"]
        proof.update(treeSize=2, rootHash=tree.root().hex(), hashes=[h.hex() for h in tree.inclusion_proof(0)])
        return doc

    with rekor.faulty_client(rewrite_json(reroot)) as client, pytest.raises(CheckpointMismatchError):
        client.get_entry_by_index(0)


def test_checkpoint_signed_by_another_key(rekor: InProcessLog, signer: Signer) -> None:
    impostor = NoteSigner.rekor_v1("localhost", generate_key("ecdsa-p256"))

    def resign(doc: Any) -> Any:
        proof = only_value(doc)["verification"]["inclusionProof"]
        proof["checkpoint"] = sign_checkpoint(rekor.log.origin, proof["treeSize"], bytes.fromhex(proof["rootHash"]),
                                              impostor)
        return doc

    with rekor.faulty_client(rewrite_json(resign, when=is_post)) as client, pytest.raises(NoteSignatureError):
        client.create_hashedrekord(signer.hashedrekord(b"resigned"))


@pytest.mark.parametrize("drop", [0, 1, 2], ids=["origin", "size", "root"])
def test_checkpoint_with_a_missing_line(rekor: InProcessLog, signer: Signer, drop: int) -> None:
    def cut(doc: Any) -> Any:
        proof = only_value(doc)["verification"]["inclusionProof"]
        lines = proof["checkpoint"].split("\n")
        del lines[drop]
        proof["checkpoint"] = "\n".join(lines)
        return doc

    with rekor.faulty_client(rewrite_json(cut, when=is_post)) as client, pytest.raises(CheckpointFormatError):
        client.create_hashedrekord(signer.hashedrekord(b"cut %d" % drop))


def test_missing_evidence_is_refused(rekor: InProcessLog, signer: Signer) -> None:
    def strip(doc: Any) -> Any:
        del only_value(doc)["verification"]["inclusionProof"]
        return doc

    with (
        rekor.faulty_client(rewrite_json(strip, when=is_post)) as client,
        pytest.raises(VerificationError, match="without an inclusion proof") as caught,
    ):
        client.create_hashedrekord(signer.hashedrekord(b"no proof"))
    # The hint fits every caller (sign has no --online): it says what is wrong with the log.
    assert "--online" not in caught.value.hint and "Rekor v1" in caught.value.hint


def test_key_outside_its_validity_window(rekor: InProcessLog, signer: Signer) -> None:
    key = rekor.directory.log_key()
    expired = LogKeyring((TrustedLog(rekor.url, key, valid_from=0, valid_until=1_000_000),))
    with rekor.client(keyring=expired) as client, pytest.raises(KeyValidityError, match="validity window"):
        client.create_hashedrekord(signer.hashedrekord(b"too late"))
    not_yet = LogKeyring((TrustedLog(rekor.url, key, valid_from=2**40),))
    with rekor.client(keyring=not_yet) as client, pytest.raises(NoteSignatureError, match="valid now"):
        client.log_info()


def test_log_info_needs_a_key_valid_on_the_injected_clock(rekor: InProcessLog) -> None:
    window = LogKeyring((TrustedLog(rekor.url, rekor.directory.log_key(), valid_from=1000, valid_until=2000),))
    for now, ok in ((999, False), (1000, True), (2000, True), (2001, False)):
        with rekor.client(keyring=window, clock=lambda now=now: now) as client:
            if ok:
                assert client.log_info().log.valid_until == 2000
            else:
                with pytest.raises(NoteSignatureError, match="valid now"):
                    client.log_info()


# -- faults: junk ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"rootHash": 1}', b'{"x": {"body": 5}}'],
    ids=["broken", "list", "wrong-type", "entry-junk"],
)
def test_malformed_json(rekor: InProcessLog, content: bytes) -> None:
    def junk(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return httpx.Response(200, content=content)

    with rekor.faulty_client(junk) as client:
        with pytest.raises(NotARekorLogError, match="not a Rekor transparency log"):  # no Rekor log info at all
            client.log_info()
        with pytest.raises(RekorResponseError):
            client.get_entry("ab" * 32)


def test_log_info_with_a_malformed_field_is_a_bad_answer(rekor: InProcessLog) -> None:
    def wrong(doc: Any) -> Any:
        doc["rootHash"] = 1
        return doc

    with rekor.faulty_client(rewrite_json(wrong)) as client, pytest.raises(RekorResponseError, match="rootHash"):
        client.log_info()


@pytest.mark.parametrize("size", [2**70, str(2**70), -1])
def test_tree_size_out_of_range(rekor: InProcessLog, size: object) -> None:
    def huge(doc: Any) -> Any:
        doc["treeSize"] = size
        return doc

    with rekor.faulty_client(rewrite_json(huge)) as client, pytest.raises(RekorResponseError, match="out of range"):
        client.log_info()


def test_a_url_that_is_not_a_rekor_log() -> None:
    """A registry (or any other server) at --rekor-url: 404 on Rekor's paths, or answers that are not Rekor's."""

    def registry(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"errors": [{"code": "NOT_FOUND", "message": "page not found"}]})

    client = RekorClient("http://127.0.0.1:5000", LogKeyring(()), client=httpx.Client(transport=httpx.MockTransport(
        registry)), retry=no_wait_retry())
    with client:
        for call in (client.log_info, client.public_key, lambda: client.create_hashedrekord(Signer().hashedrekord(
                b"r")), lambda: client.search_by_hash("sha256:" + "00" * 32), lambda: client.consistency_proof(1, 2)):
            with pytest.raises(NotARekorLogError, match="not a Rekor transparency log") as caught:
                call()
            assert caught.value.exit_code == ExitCode.UNAVAILABLE and "UUID" not in caught.value.hint

    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html="<html>welcome</html>")

    with RekorClient("http://127.0.0.1:80", LogKeyring(()), client=httpx.Client(transport=httpx.MockTransport(html)),
                     retry=no_wait_retry()) as client:
        for call in (client.log_info, client.public_key):
            with pytest.raises(NotARekorLogError):
                call()


def test_deeply_nested_error_answer(rekor: InProcessLog) -> None:
    def deep(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return httpx.Response(500, content=b"[" * 60_000)

    with rekor.faulty_client(deep) as client, pytest.raises(RekorServerError, match="HTTP 500"):
        client.log_info()


def test_credentials_in_the_url_are_sent_but_never_shown(rekor: InProcessLog, signer: Signer) -> None:
    seen: list[str] = []

    def spy(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        seen.append(request.headers.get("Authorization", ""))
        return response

    secret_url = rekor.url.replace("http://", "http://alice:s3cret@")
    client = RekorClient(secret_url, rekor.keyring, client=httpx.Client(transport=rekor.faulty_transport(spy)),
                         retry=no_wait_retry())
    with client:
        assert client.url == rekor.url
        created = client.create_hashedrekord(signer.hashedrekord(b"with credentials"))
        assert created.verification.log.base_url == rekor.url
        with pytest.raises(EntryNotFoundError) as caught:
            client.get_entry("00" * 32)
        assert "s3cret" not in caught.value.message and "alice" not in caught.value.message
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert seen and all(value == expected for value in seen)


def test_credentials_over_plain_http_only_to_loopback() -> None:
    from supplychain.config import Settings
    from supplychain.errors import UnsafeRequestError

    listed = Settings(insecure_registries=frozenset({"rekor.example.test"}))
    with pytest.raises(UnsafeRequestError, match="credentials") as caught:
        RekorClient.open("http://alice:s3cret@rekor.example.test", LogKeyring(()), listed)
    assert "s3cret" not in str(caught.value)
    RekorClient.open("http://rekor.example.test", LogKeyring(()), listed).close()  # no credentials: as before
    RekorClient.open("http://alice:s3cret@127.0.0.1:1", LogKeyring(()), Settings()).close()
    RekorClient.open("https://alice:s3cret@rekor.example.test", LogKeyring(()), Settings()).close()


def test_tls_to_a_plain_http_log_gets_log_hints(rekor: InProcessLog) -> None:
    from supplychain.config import Settings
    from supplychain.errors import TLSError

    url = rekor.url.replace("http://", "https://")
    with RekorClient.open(url, rekor.keyring, Settings(retries=0)) as client, pytest.raises(TLSError) as caught:
        client.log_info()
    hint = caught.value.hint
    assert "http://127.0.0.1" in hint and "certs.d" not in hint and "INSECURE_REGISTRIES" not in hint


def test_log_info_disagreeing_with_its_checkpoint(rekor: InProcessLog) -> None:
    def bigger(doc: Any) -> Any:
        doc["treeSize"] += 1
        return doc

    with (
        rekor.faulty_client(rewrite_json(bigger)) as client,
        pytest.raises(RekorResponseError, match="checkpoint says"),
    ):
        client.log_info()


def test_huge_answers_are_capped(rekor: InProcessLog) -> None:
    def huge(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return httpx.Response(200, content=b"[" + b'"x",' * 400_000 + b'"x"]')

    def streamed(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 65536] * 100))  # no Content-Length

    for fault in (huge, streamed):
        with (
            rekor.faulty_client(fault, max_response_bytes=1 << 20) as client,
            pytest.raises(RekorResponseError, match="cap"),
        ):
            client.search_by_hash("sha256:" + "00" * 32)


def test_tampered_consistency_proof(rekor: InProcessLog, signer: Signer) -> None:
    with rekor.client() as client:
        for n in range(3):
            client.create_hashedrekord(signer.hashedrekord(b"c %d" % n))
        old = client.log_info().checkpoint
        for n in range(3):
            client.create_hashedrekord(signer.hashedrekord(b"d %d" % n))
        new = client.log_info().checkpoint

    def tamper(doc: Any) -> Any:
        doc["hashes"][-1] = "11" * 32
        return doc

    with (
        rekor.faulty_client(rewrite_json(tamper, when=lambda r: "proof" in r.url.path)) as client,
        pytest.raises(ConsistencyProofError),
    ):
        client.prove_consistency(old, new)


def test_plain_http_only_to_loopback() -> None:
    from supplychain.config import Settings
    from supplychain.errors import UnsafeRequestError

    with pytest.raises(UnsafeRequestError, match="plain HTTP"):
        RekorClient.open("http://rekor.example.test", LogKeyring(()), Settings())
    RekorClient.open("http://127.0.0.1:1", LogKeyring(()), Settings()).close()
    with pytest.raises(InvalidInputError, match="not an http"):
        RekorClient("ftp://x", LogKeyring(()), client=httpx.Client())
