"""References parse and normalise as docker's distribution/reference does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplychain.digest import Digest
from supplychain.errors import InvalidReferenceError
from supplychain.reference import (
    ImageReference,
    LayoutReference,
    parse_image_reference,
    parse_reference,
)

HEX = "a" * 64
DIGEST = f"sha256:{HEX}"


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("busybox", "docker.io", "library/busybox", "latest", None),
        ("busybox:1.36", "docker.io", "library/busybox", "1.36", None),
        ("library/busybox", "docker.io", "library/busybox", "latest", None),
        ("docker.io/busybox", "docker.io", "library/busybox", "latest", None),
        ("index.docker.io/busybox", "docker.io", "library/busybox", "latest", None),
        ("user/app", "docker.io", "user/app", "latest", None),
        ("ghcr.io/org/app:v1", "ghcr.io", "org/app", "v1", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/app", "localhost:5000", "app", "latest", None),
        ("127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000", "a/b/c", "t", None),
        ("[::1]:5000/app", "[::1]:5000", "app", "latest", None),
        ("registry:5000/app", "registry:5000", "app", "latest", None),
        (f"app@{DIGEST}", "docker.io", "library/app", None, DIGEST),
        (f"example.com/app:v1@{DIGEST}", "example.com", "app", "v1", DIGEST),
        ("a.b/x__y/z-w.v:_tag", "a.b", "x__y/z-w.v", "_tag", None),
    ],
)
def test_normalises_like_docker(text: str, registry: str, repository: str, tag: str | None, digest: str | None):
    ref = parse_image_reference(text)
    assert (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)
    assert (str(ref.digest) if ref.digest else None) == digest


def test_digest_wins_over_tag_for_identifier():
    ref = parse_image_reference(f"example.com/app:v1@{DIGEST}")
    assert ref.identifier == DIGEST
    assert str(ref) == f"example.com/app:v1@{DIGEST}"
    assert parse_image_reference("example.com/app").identifier == "latest"


def test_docker_hub_api_host():
    assert parse_image_reference("busybox").api_host == "registry-1.docker.io"
    assert parse_image_reference("ghcr.io/a/b").api_host == "ghcr.io"


@pytest.mark.parametrize(
    "text",
    [
        "",
        " busybox",
        "Busybox",
        "example.com/App",
        "app:",
        "app:-tag",
        "app:" + "t" * 129,
        "app@sha256:abc",
        "app@md5:" + "a" * 32,
        "/app",
        "app/",
        "a//b",
        "ex ample.com/app",
        "example.com:port/app",
        "-bad.com/app",
        "app@",
        "a" * 300,
        "example.com/a..b",
        "example.com/a_-b",
    ],
)
def test_rejects_malformed(text: str):
    with pytest.raises(InvalidReferenceError) as info:
        parse_image_reference(text)
    assert info.value.hint  # every rejection tells the user how to write it


@pytest.mark.parametrize(
    ("text", "path", "tag", "digest"),
    [
        ("oci:layout", "layout", "latest", None),
        ("oci:./out/img:v1", "./out/img", "v1", None),
        # skopeo (containers/image SplitPathAndImage) splits at the FIRST ':'; the rest is a ref.name.
        ("oci:/tmp/a:b/c", "/tmp/a", "b/c", None),
        ("oci:sk1:a/b", "sk1", "a/b", None),
        ("oci:x:example.com/app:1.0", "x", "example.com/app:1.0", None),
        ("oci:x:a@b+c--d_e", "x", "a@b+c--d_e", None),
        ("oci:x:_tag", None, None, None),
        ("oci:dir@home:v1", "dir@home", "v1", None),
        (f"oci:/tmp/x@{DIGEST}", "/tmp/x", None, DIGEST),
        (f"oci:/tmp/x:@{DIGEST}", "/tmp/x", None, DIGEST),
        (f"oci:a@b@{DIGEST}", "a@b", None, DIGEST),
        (f"oci:x:v1@{DIGEST}", "x", f"v1@{DIGEST}", None),  # a ref.name may hold '@' and ':', as skopeo reads it
    ],
)
def test_layout_references(text: str, path: str | None, tag: str | None, digest: str | None):
    if path is None:
        with pytest.raises(InvalidReferenceError):
            parse_reference(text)
        return
    ref = parse_reference(text)
    assert isinstance(ref, LayoutReference)
    assert (ref.path, ref.tag) == (path, tag)
    assert (str(ref.digest) if ref.digest else None) == digest
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    ["oci:", "oci::tag", "oci:x@sha256:zz", "oci:x:bad tag", "oci:x:", "oci:x:a//b", "oci:x:-a", "oci:x:a/",
     "oci:x:a__b", "oci:x:@", "oci:x:@sha256:zz", "oci:x:é"],
)
def test_layout_rejects_malformed(text: str):
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    assert info.value.hint


def test_docker_transport_prefix_is_accepted():
    assert parse_reference("docker://127.0.0.1:5000/app:1") == parse_image_reference("127.0.0.1:5000/app:1")
    assert parse_reference("docker://busybox") == parse_image_reference("docker.io/library/busybox:latest")
    with pytest.raises(InvalidReferenceError):
        parse_reference("docker://")


@pytest.mark.parametrize(
    "text", ["docker-archive:/tmp/a.tar", "containers-storage:app:1", "dir:/tmp/img", "oci-archive:/tmp/a.tar:1",
             "docker-daemon:app:1"],
)
def test_other_skopeo_transports_say_what_is_supported(text: str):
    with pytest.raises(InvalidReferenceError, match=r"transport is not supported") as info:
        parse_reference(text)
    assert "docker://" in info.value.hint and "oci:PATH" in info.value.hint


@pytest.mark.parametrize("port", ["0", "65536", "99999", "00000"])
def test_registry_port_out_of_range(port: str):
    with pytest.raises(InvalidReferenceError, match=f"port {port} is outside 1-65535"):
        parse_image_reference(f"127.0.0.1:{port}/app")


def test_registry_port_bounds():
    assert parse_image_reference("127.0.0.1:1/app").registry == "127.0.0.1:1"
    assert parse_image_reference("127.0.0.1:65535/app").registry == "127.0.0.1:65535"


@pytest.mark.parametrize("text", ["app:\u00fc", "app:v1\u0661", "a\n/b", "ex\u00e1mple.com/app"])
def test_tags_and_components_are_ascii_and_whole(text: str):
    # Go's \w is ASCII, and a component must match whole (Python's $ would accept a trailing newline).
    with pytest.raises(InvalidReferenceError):
        parse_image_reference(text)


_component = st.from_regex(r"\A[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,6}){0,2}\Z")
_tag = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z")
_registry = st.sampled_from(["ghcr.io", "localhost:5000", "127.0.0.1:8080", "registry.example.com", "[::1]:5000"])
_hex = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(
    registry=_registry,
    path=st.lists(_component, min_size=1, max_size=4),
    tag=st.none() | _tag,
    digest_hex=st.none() | _hex,
)
def test_round_trip(registry: str, path: list[str], tag: str | None, digest_hex: str | None):
    digest = Digest("sha256", digest_hex) if digest_hex else None
    original = ImageReference(registry, "/".join(path), tag if tag or digest else "latest", digest)
    parsed = parse_image_reference(str(original))
    assert parsed == original
    assert parse_image_reference(str(parsed)) == parsed


@given(st.text(max_size=80))
def test_never_crashes(text: str):
    try:
        ref = parse_reference(text)
    except InvalidReferenceError:
        return
    # Whatever parses, prints as something that parses to the same value.
    assert parse_reference(str(ref)) == ref
