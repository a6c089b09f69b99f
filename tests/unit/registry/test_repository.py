"""RegistryRepository against an in-memory registry: manifests, caps, digests, tags, referrers, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from supplychain.config import Settings
from supplychain.errors import (
    AuthError,
    DigestMismatchError,
    IntegrityError,
    InvalidManifestError,
    InvalidReferenceError,
    NotFoundError,
    RegistryError,
    SizeLimitError,
    UnavailableError,
    UnsupportedMediaTypeError,
)
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, Index, Manifest, build_index, build_manifest
from supplychain.oci.referrers import referrers_tag
from supplychain.registry.client import RegistryClient
from supplychain.registry.repository import RegistryRepository
from tests.unit.registry.fake import FakeRegistry, error, image

FOUR_MIB = 4 * 1024 * 1024


def open_repo(
    fake: FakeRegistry, settings: Settings | None = None, sleeps: list[float] | None = None
) -> RegistryRepository:
    client = RegistryClient(fake.host, settings or Settings(), client=fake.client(),
                            sleep=(sleeps if sleeps is not None else []).append)
    return client.repository("team/app")


def artifact(subject: Manifest, kind: str = "application/vnd.test.sig", marker: str = "a") -> Manifest:
    return build_manifest(EMPTY_DESCRIPTOR, [EMPTY_DESCRIPTOR], subject=subject.descriptor(), artifact_type=kind,
                          annotations={"marker": marker})


# -- manifests ------------------------------------------------------------------------------------------


def test_put_then_get_by_tag_and_digest_with_content_type_and_accept() -> None:
    fake = FakeRegistry()
    repo = open_repo(fake)
    manifest = image()
    result = repo.put_manifest(manifest, tag="v1")
    assert result.descriptor.digest == manifest.digest and not result.subject_indexed
    put = fake.seen("PUT", "/manifests/v1")[0]
    assert put.headers["Content-Type"] == MediaType.OCI_MANIFEST
    assert put.content == manifest.raw
    assert repo.get_manifest("v1").raw == manifest.raw
    assert repo.get_manifest(manifest.digest).raw == manifest.raw
    assert repo.get_manifest(manifest.descriptor()).raw == manifest.raw
    accept = fake.seen("GET", "/manifests/")[0].headers["Accept"]
    for kind in (MediaType.OCI_INDEX, MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST,
                 MediaType.DOCKER_MANIFEST_LIST):
        assert kind in accept


def test_resolve_uses_head() -> None:
    fake = FakeRegistry()
    repo = open_repo(fake)
    manifest = image()
    fake.put("team/app", manifest.raw, MediaType.OCI_MANIFEST, "v1")
    desc = repo.resolve("v1")
    assert (desc.digest, desc.size, desc.media_type) == (manifest.digest, len(manifest.raw), MediaType.OCI_MANIFEST)
    assert [r.method for r in fake.requests] == ["HEAD"]


def test_resolve_falls_back_to_get_when_head_lacks_the_digest() -> None:
    fake = FakeRegistry()
    manifest = image()
    fake.put("team/app", manifest.raw, MediaType.OCI_MANIFEST, "v1")

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake.handle(request)
        if request.method == "HEAD":
            del response.headers["Docker-Content-Digest"]
        return response

    client = RegistryClient(fake.host, Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)))
    desc = client.repository("team/app").resolve("v1")
    assert desc.digest == manifest.digest
    assert [r.method for r in fake.requests] == ["HEAD", "GET"]


def test_missing_manifest_is_not_found() -> None:
    repo = open_repo(FakeRegistry())
    with pytest.raises(NotFoundError, match=r"manifest registry\.test/team/app:nope: manifest unknown"):
        repo.get_manifest("nope")
    with pytest.raises(NotFoundError, match="not found"):
        repo.resolve("nope")


def test_bad_references_never_reach_the_wire() -> None:
    fake = FakeRegistry()
    repo = open_repo(fake)
    for bad in ("../../etc", "-x", "sha256:abc"):
        with pytest.raises(InvalidReferenceError):
            repo.get_manifest(bad)
    with pytest.raises(InvalidReferenceError):
        repo.put_manifest(image(), tag="a/b")
    with pytest.raises(InvalidReferenceError):
        RegistryClient(fake.host, Settings(), client=fake.client()).repository("Team/App")
    assert fake.requests == []


def _serve_manifest(body: bytes | Iterator[bytes], headers: dict[str, str]) -> tuple[RegistryRepository, list[int]]:
    sent = [0]

    def counted() -> Iterator[bytes]:
        chunks = [body] if isinstance(body, bytes) else body
        for chunk in chunks:
            sent[0] += len(chunk)
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, stream=_Stream(counted()))

    client = RegistryClient("registry.test", Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)))
    return client.repository("team/app"), sent


class _Stream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks


def test_manifest_over_4_mib_is_refused_from_its_content_length_before_reading() -> None:
    chunks = (b" " * 65536 for _ in range(200))  # 12.5 MiB if anyone read it all
    repo, sent = _serve_manifest(chunks, {"Content-Type": MediaType.OCI_MANIFEST,
                                          "Content-Length": str(200 * 65536)})
    with pytest.raises(SizeLimitError, match="over the 4194304-byte limit"):
        repo.get_manifest("v1")
    assert sent[0] == 0


def test_manifest_over_4_mib_without_length_is_cut_off_while_streaming() -> None:
    chunks = (b" " * 65536 for _ in range(200))
    repo, sent = _serve_manifest(chunks, {"Content-Type": MediaType.OCI_MANIFEST})
    with pytest.raises(SizeLimitError):
        repo.get_manifest("v1")
    assert FOUR_MIB < sent[0] <= FOUR_MIB + 65536


def test_manifest_with_other_bytes_than_its_digest() -> None:
    manifest = image()
    other = image("v2")
    repo, _ = _serve_manifest(other.raw, {"Content-Type": MediaType.OCI_MANIFEST})
    with pytest.raises(DigestMismatchError) as info:
        repo.get_manifest(manifest.digest)
    assert info.value.expected == str(manifest.digest) and info.value.got == str(other.digest)


def test_by_tag_the_announced_digest_must_match_the_bytes() -> None:
    manifest = image()
    repo, _ = _serve_manifest(manifest.raw, {"Content-Type": MediaType.OCI_MANIFEST,
                                             "Docker-Content-Digest": str(image("v2").digest)})
    with pytest.raises(DigestMismatchError, match="Docker-Content-Digest"):
        repo.get_manifest("v1")
    # Without the header: trust on first use, the digest is computed from the bytes.
    repo, _ = _serve_manifest(manifest.raw, {"Content-Type": MediaType.OCI_MANIFEST})
    assert repo.get_manifest("v1").digest == manifest.digest


def test_invalid_json_manifest() -> None:
    repo, _ = _serve_manifest(b"{not json", {"Content-Type": MediaType.OCI_MANIFEST})
    with pytest.raises(InvalidManifestError, match=r"registry\.test/team/app:v1: manifest is not valid JSON"):
        repo.get_manifest("v1")


def test_unknown_media_type() -> None:
    raw = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.example.thing+json"}).encode()
    repo, _ = _serve_manifest(raw, {"Content-Type": "application/vnd.example.thing+json"})
    with pytest.raises(UnsupportedMediaTypeError, match=r"application/vnd\.example\.thing"):
        repo.get_manifest("v1")


def test_generic_content_type_is_sniffed() -> None:
    manifest = build_index([image().descriptor()])
    raw = json.dumps({"schemaVersion": 2, "manifests": json.loads(manifest.raw)["manifests"]}).encode()
    repo, _ = _serve_manifest(raw, {"Content-Type": "application/json"})
    assert isinstance(repo.get_manifest("v1"), Index)


def test_registry_rewriting_a_pushed_manifest_is_an_integrity_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, headers={"Docker-Content-Digest": str(image("other").digest)})

    client = RegistryClient("registry.test", Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(IntegrityError, match="stored it as"):
        client.repository("team/app").put_manifest(image(), tag="v1")


def test_blob_unknown_on_manifest_push_says_push_again() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return error(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry")

    client = RegistryClient("registry.test", Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(NotFoundError, match="blob unknown to registry") as info:
        client.repository("team/app").put_manifest(image(), tag="v1")
    assert "push the image again" in info.value.hint


def test_delete_manifest_and_its_tags() -> None:
    fake = FakeRegistry()
    repo = open_repo(fake)
    manifest = image()
    repo.put_manifest(manifest, tag="v1")
    repo.delete_manifest(manifest.digest)
    assert fake.seen("DELETE")[0].url.path == f"/v2/team/app/manifests/{manifest.digest}"
    with pytest.raises(NotFoundError):
        repo.get_manifest("v1")
    with pytest.raises(NotFoundError):
        repo.delete_manifest(manifest.digest)


# -- retries and error answers ------------------------------------------------------------------------


def _flaky(fake: FakeRegistry, failures: list[httpx.Response]) -> tuple[RegistryRepository, list[float]]:
    def handler(request: httpx.Request) -> httpx.Response:
        if failures:
            fake.requests.append(request)
            return failures.pop(0)
        return fake.handle(request)

    sleeps: list[float] = []
    client = RegistryClient(fake.host, Settings(retries=3), client=httpx.Client(transport=httpx.MockTransport(handler)),
                            sleep=sleeps.append)
    return client.repository("team/app"), sleeps


def test_registry_5xx_then_recovery() -> None:
    fake = FakeRegistry()
    manifest = image()
    fake.put("team/app", manifest.raw, MediaType.OCI_MANIFEST, "v1")
    repo, sleeps = _flaky(fake, [httpx.Response(503), httpx.Response(502)])
    assert repo.get_manifest("v1").digest == manifest.digest
    assert len(fake.requests) == 3
    assert len(sleeps) == 2


def test_registry_5xx_forever_is_bounded_with_a_clear_error() -> None:
    fake = FakeRegistry()
    repo, sleeps = _flaky(fake, [httpx.Response(503, text="upstream down") for _ in range(10)])
    with pytest.raises(RegistryError, match="failed with HTTP 503 after retries") as info:
        repo.get_manifest("v1")
    assert len(fake.requests) == 4 and len(sleeps) == 3
    assert info.value.hint


def test_429_with_retry_after_then_rate_limit_error() -> None:
    fake = FakeRegistry()
    limited = [error(429, "TOOMANYREQUESTS", "pull rate limit", headers={"Retry-After": "2"}) for _ in range(10)]
    repo, sleeps = _flaky(fake, limited)
    with pytest.raises(UnavailableError, match="toomanyrequests: pull rate limit") as info:
        repo.get_manifest("v1")
    assert sleeps == [2.0, 2.0, 2.0]
    assert "log in" in info.value.hint


@pytest.mark.parametrize(
    ("response", "kind", "text"),
    [
        (httpx.Response(404, content=b"\x00\xff\xfe garbage"), NotFoundError, "not found"),
        (httpx.Response(404, json={"errors": "nope"}), NotFoundError, "not found"),
        (httpx.Response(404, json={"errors": [{"message": "no code"}]}), NotFoundError, "not found"),
        (httpx.Response(403, html="<html><body>Forbidden by proxy</body></html>"), AuthError, "denied"),
        (httpx.Response(401, json=[1, 2]), AuthError, "no basic auth credentials"),
        (httpx.Response(418, text="x" * 100_000), RegistryError, "unexpected HTTP 418"),
        (httpx.Response(400, json={"errors": [{"code": "WEIRD_CODE", "message": "m"}]}), RegistryError,
         "WEIRD_CODE: m"),
    ],
)
def test_malformed_error_bodies(response: httpx.Response, kind: type[Exception], text: str) -> None:
    client = RegistryClient("registry.test", Settings(),
                            client=httpx.Client(transport=httpx.MockTransport(lambda r: response)))
    with pytest.raises(kind, match=text) as info:
        client.repository("team/app").get_manifest("v1")
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


# -- tags ---------------------------------------------------------------------------------------------


def test_tags_follow_link_pagination() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        last = request.url.params.get("last")
        page = {None: (["a", "b"], "b"), "b": (["c", "d"], "d"), "d": (["e"], None)}[last]
        headers = {"Link": f'</v2/team/app/tags/list?n=2&last={page[1]}>; rel="next"'} if page[1] else {}
        return httpx.Response(200, json={"name": "team/app", "tags": page[0]}, headers=headers)

    client = RegistryClient("registry.test", Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert list(client.repository("team/app").tags(page_size=2)) == ["a", "b", "c", "d", "e"]
    assert seen[0] == "https://registry.test/v2/team/app/tags/list?n=2"
    assert len(seen) == 3


def test_tags_of_a_missing_repository() -> None:
    with pytest.raises(NotFoundError, match="repository name not known"):
        list(open_repo(FakeRegistry()).tags())


def test_null_tag_list_is_empty() -> None:
    client = RegistryClient("registry.test", Settings(), client=httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"name": "x", "tags": None}))))
    assert list(client.repository("x").tags()) == []


# -- referrers ----------------------------------------------------------------------------------------


def test_referrers_api_is_used_when_present() -> None:
    fake = FakeRegistry(referrers_api=True, send_subject_header=True)
    repo = open_repo(fake)
    subject = image()
    repo.put_manifest(subject, tag="v1")
    sig = artifact(subject)
    result = repo.put_manifest(sig)
    assert result.subject_indexed
    assert not fake.seen("PUT", referrers_tag(subject.digest))  # no tag written
    found = repo.referrers(subject.digest)
    assert [d.digest for d in found] == [sig.digest]
    assert found[0].artifact_type == "application/vnd.test.sig"
    assert repo.client.referrers_api is True
    assert not fake.seen("GET", f"/manifests/{referrers_tag(subject.digest)}")
    repo.referrers(subject.digest, "application/vnd.test.sig")
    assert fake.seen("GET", "artifactType=application%2Fvnd.test.sig")


def test_a_false_oci_subject_header_is_not_trusted() -> None:
    fake = FakeRegistry()

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake.handle(request)
        if request.method == "PUT":
            response.headers["OCI-Subject"] = "sha256:" + "0" * 64
        return response

    client = RegistryClient(fake.host, Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)),
                            sleep=lambda s: None)
    repo = client.repository("team/app")
    subject = image()
    sig = artifact(subject)
    assert not repo.put_manifest(sig).subject_indexed
    assert [d.digest for d in repo.referrers(subject.digest)] == [sig.digest]


def test_without_the_api_the_referrers_tag_is_written_and_read() -> None:
    fake = FakeRegistry()
    repo = open_repo(fake)
    subject = image()
    repo.put_manifest(subject, tag="v1")
    sig, att = artifact(subject), artifact(subject, "application/vnd.test.att", "b")
    assert not repo.put_manifest(sig).subject_indexed
    repo.put_manifest(att)
    repo.put_manifest(sig)  # already listed: the tag is not rewritten
    tag = referrers_tag(subject.digest)
    index = repo.get_manifest(tag)
    assert isinstance(index, Index)
    assert [d.digest for d in index.manifests] == [sig.digest, att.digest]
    assert index.manifests[0].artifact_type == "application/vnd.test.sig"
    assert [d.digest for d in repo.referrers(subject.digest)] == [sig.digest, att.digest]
    assert [d.digest for d in repo.referrers(subject.digest, "application/vnd.test.att")] == [att.digest]
    # The 404 of the API is remembered: one probe only.
    assert len(fake.seen("GET", "/referrers/")) == 1


def test_an_empty_api_answer_also_reads_the_tag() -> None:
    fake = FakeRegistry(referrers_api=True)
    repo = open_repo(fake)
    subject = image()
    listed = artifact(subject).descriptor()
    tag_index = build_index([listed])
    fake.put("team/app", tag_index.raw, MediaType.OCI_INDEX, referrers_tag(subject.digest))
    assert [d.digest for d in repo.referrers(subject.digest)] == [listed.digest]
    assert fake.seen("GET", "/referrers/") and fake.seen("GET", f"/manifests/{referrers_tag(subject.digest)}")


def test_a_referrers_tag_that_is_not_an_index() -> None:
    fake = FakeRegistry()
    repo = open_repo(fake)
    subject = image()
    fake.put("team/app", image("squatter").raw, MediaType.OCI_MANIFEST, referrers_tag(subject.digest))
    with pytest.raises(InvalidManifestError, match="holds an image manifest, not an index"):
        repo.referrers(subject.digest)
    with pytest.raises(InvalidManifestError, match="not an index"):
        repo.put_manifest(artifact(subject))


def test_a_referrers_api_answer_that_is_not_an_index() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=image().raw, headers={"Content-Type": MediaType.OCI_MANIFEST})

    client = RegistryClient("registry.test", Settings(), client=httpx.Client(transport=httpx.MockTransport(handler)))
    with pytest.raises(InvalidManifestError, match="answered an image manifest"):
        client.repository("team/app").referrers(image().digest)


def test_a_concurrent_writer_does_not_lose_our_referrer() -> None:
    fake = FakeRegistry()
    subject = image()
    tag = referrers_tag(subject.digest)
    theirs = artifact(subject, marker="theirs").descriptor()
    raced = [False]

    def other_writer(name: str, written: str) -> None:
        # Right after our first put, another client (which read the tag before us) overwrites it.
        if written == tag and not raced[0]:
            raced[0] = True
            fake.put(name, build_index([theirs]).raw, MediaType.OCI_INDEX, tag)

    fake.after_tag_put = other_writer
    sleeps: list[float] = []
    repo = open_repo(fake, sleeps=sleeps)
    ours = artifact(subject, marker="ours")
    repo.put_manifest(ours)
    listed = [d.digest for d in repo.referrers(subject.digest)]
    assert listed == [theirs.digest, ours.digest]
    assert len(fake.seen("PUT", f"/manifests/{tag}")) == 2


def test_a_tag_that_never_keeps_our_entry_gives_up() -> None:
    fake = FakeRegistry()
    subject = image()
    tag = referrers_tag(subject.digest)
    fake.after_tag_put = lambda name, written: fake.put(name, build_index([]).raw, MediaType.OCI_INDEX, tag)
    repo = open_repo(fake)
    with pytest.raises(RegistryError, match="other writers kept overwriting it"):
        repo.put_manifest(artifact(subject))
    assert len(fake.seen("PUT", f"/manifests/{tag}")) == 6


def test_deleting_a_referrer_removes_it_from_the_tag() -> None:
    fake = FakeRegistry()
    repo = open_repo(fake)
    subject = image()
    sig, att = artifact(subject), artifact(subject, "application/vnd.test.att", "b")
    repo.put_manifest(sig)
    repo.put_manifest(att)
    repo.delete_manifest(sig.digest)
    assert [d.digest for d in repo.referrers(subject.digest)] == [att.digest]



@pytest.mark.parametrize("bad", ["tagé", "latest\n", "v1\r", "é"])
def test_non_ascii_tags_and_a_trailing_newline_are_refused_before_the_wire(bad: str) -> None:
    # distribution/reference's tag grammar is ASCII ([\w] is Go's ASCII class), matched whole: Python's \w takes
    # "é", and a "$" anchor would take "latest\n".
    fake = FakeRegistry()
    repo = open_repo(fake)
    for call in (lambda: repo.get_manifest(bad), lambda: repo.resolve(bad),
                 lambda: repo.put_manifest(image(), tag=bad)):
        with pytest.raises(InvalidReferenceError) as caught:
            call()
        assert caught.value.hint == "a tag is 1-128 of [A-Za-z0-9_.-], not starting with . or -"
    assert fake.requests == []
