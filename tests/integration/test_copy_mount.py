"""Issue 8.13: a copy between two repositories of one registry mounts the blobs (distribution spec "Mounting a
blob from another repository") instead of moving every byte through the client; when the registry declines a
mount (202), the upload session it opened is cancelled and the blob is uploaded. Against the real registry; the
HTTP transport is wrapped only to count what passes through it (and, for the fallback, to ask for a plain upload
session where the mount was asked, which is what a registry that declines answers)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.oci.model import Index, Manifest
from supplychain.reference import parse_image_reference
from supplychain.registry import RegistryRepository, open_repository
from supplychain.transfer import copy_image
from tests.support.registry import RegistryProcess
from tests.support.signatures import run_cli

pytestmark = pytest.mark.integration


class Recording(httpx.BaseTransport):
    """The real HTTP transport, recording (method, path, query, status, request body length) of each request."""

    def __init__(self, *, decline_mounts: bool = False) -> None:
        self.inner = httpx.HTTPTransport()
        self.decline_mounts = decline_mounts
        self.seen: list[tuple[str, str, dict[str, str], int, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.decline_mounts and request.method == "POST" and "mount" in request.url.params:
            url = request.url.copy_remove_param("mount").copy_remove_param("from")
            request = httpx.Request("POST", url, headers=request.headers)
        response = self.inner.handle_request(request)
        length = int(request.headers.get("Content-Length", "0") or 0)
        self.seen.append((request.method, request.url.path, dict(request.url.params), response.status_code, length))
        return response

    def close(self) -> None:
        self.inner.close()

    def blob_bytes(self) -> int:
        """Bytes of blobs sent (upload PUTs and PATCHes)."""
        return sum(n for method, path, _, _, n in self.seen if method in {"PUT", "PATCH"} and "/blobs/" in path)

    def blob_reads(self) -> int:
        """GETs of blobs (each would bring a blob's bytes through the client)."""
        return sum(method == "GET" and "/blobs/" in path for method, path, *_ in self.seen)


def repository(registry: RegistryProcess, name: str, http: httpx.Client) -> RegistryRepository:
    return open_repository(parse_image_reference(f"{registry.host}/{name}"), Settings(), client=http)


def has_image(store: RegistryRepository, digest: Digest) -> bool:
    """Every blob of every platform manifest of the index ``digest`` is in ``store``."""
    index = store.get_manifest(digest)
    assert isinstance(index, Index)
    for child in index.manifests:
        manifest = store.get_manifest(child)
        assert isinstance(manifest, Manifest)
        if not all(store.has_blob(blob.digest) for blob in (manifest.config, *manifest.layers)):
            return False
    return True


def stage(registry: RegistryProcess, fixture_layout: Path, name: str) -> None:
    result = run_cli(["copy", f"oci:{fixture_layout}:multi", f"{registry.host}/{name}:1", "--without-referrers"])
    assert result.code == 0, result


def test_copy_within_one_registry_mounts_every_blob(registry: RegistryProcess, fixture_layout: Path):
    stage(registry, fixture_layout, "staging/app")
    transport = Recording()
    with (httpx.Client(transport=transport) as http, repository(registry, "staging/app", http) as src,
          repository(registry, "prod/app", http) as dst):
        result = copy_image(src, "1", dst, tag="1")
        assert result.blobs_mounted > 0 and result.blobs_copied == 0 and result.bytes_copied == 0
        assert transport.blob_bytes() == 0 and transport.blob_reads() == 0  # no byte through the client
        mounts = [q for method, _, q, status, _ in transport.seen if method == "POST" and status == 201]
        assert len(mounts) == result.blobs_mounted
        assert all(q["from"] == "staging/app" for q in mounts)
        assert has_image(dst, result.digest)

        transport.seen.clear()
        again = copy_image(src, "1", dst, tag="1")  # what the destination has is skipped, not mounted again
        assert again.blobs_skipped == result.blobs_mounted and again.blobs_mounted == 0
        assert not [m for m, *_ in transport.seen if m == "POST"]


def test_the_cli_says_it_mounted(registry: RegistryProcess, fixture_layout: Path):
    stage(registry, fixture_layout, "staging/cli")
    result = run_cli(["copy", f"{registry.host}/staging/cli:1", f"{registry.host}/prod/cli:1", "-o", "json"])
    assert result.code == 0, result
    report = json.loads(result.stdout)
    assert report["blobsMounted"] > 0 and report["bytesCopied"] == 0
    assert f"mounted {report['blobsMounted']} from the source repository" in result.stderr


def test_a_declined_mount_cancels_its_session_and_uploads(registry: RegistryProcess, fixture_layout: Path):
    stage(registry, fixture_layout, "staging/declined")
    transport = Recording(decline_mounts=True)
    with (httpx.Client(transport=transport) as http, repository(registry, "staging/declined", http) as src,
          repository(registry, "prod/declined", http) as dst):
        result = copy_image(src, "1", dst, tag="1")
        assert result.blobs_mounted == 0 and result.blobs_copied > 0 and result.bytes_copied > 0
        declined = [m for m, _, q, status, _ in transport.seen if m == "POST" and status == 202]
        cancelled = [status for m, path, _, status, _ in transport.seen if m == "DELETE" and "/uploads/" in path]
        # Each declined mount's session is cancelled (204), then the blob gets a session of its own.
        assert len(cancelled) == result.blobs_copied and set(cancelled) == {204}
        assert len(declined) == 2 * result.blobs_copied
        assert has_image(dst, result.digest)


def test_a_layout_source_still_streams(registry: RegistryProcess, fixture_layout: Path):
    """The control: with no source repository to mount from, blobs are uploaded as before."""
    from supplychain.layout import OciLayout

    transport = Recording()
    with httpx.Client(transport=transport) as http, repository(registry, "prod/from-layout", http) as dst:
        result = copy_image(OciLayout(fixture_layout), "multi", dst, tag="1")
    assert result.blobs_mounted == 0 and result.blobs_copied > 0
    assert not [q for m, _, q, *_ in transport.seen if m == "POST" and "mount" in q]
