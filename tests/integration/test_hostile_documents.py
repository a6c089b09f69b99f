"""Hostile JSON documents through the real CLI (issue 7, items 7 and 9), against the real registry and crafted layouts.

9. A number of 6,000 digits (a descriptor ``size`` in ``index.json``, a field of a manifest the registry stores as
   given) ended in CPython's ``Exceeds the limit (4300 digits)`` ValueError: exit 70. It is a format error now
   (``formats.strictjson``), exit 3, for ``inspect``, ``tree`` and ``copy``.
7. A document that is both an index and an image manifest (GHSA-qq97-vm5h-rrhg) was read as one or the other
   depending on its media type. It is refused. distribution 2.8.2 refuses such OCI documents on push, but it stores
   a Docker manifest list with ``config``/``layers`` and a Docker manifest with ``manifests``: those are pushed raw
   to the real registry; the OCI documents without ``mediaType`` are tested in a crafted layout.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from supplychain.errors import ExitCode
from supplychain.oci.mediatype import MediaType
from tests.support.registry import RegistryProcess
from tests.support.signatures import CliResult, run_cli

pytestmark = pytest.mark.integration

HUGE = "9" * 6000


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(client: httpx.Client, repo: str, data: bytes, media_type: str) -> dict[str, Any]:
    started = client.post(f"/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    done = client.put(f"{location}{'&' if '?' in location else '?'}digest={digest_of(data)}", content=data)
    assert done.status_code == 201, done.text
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data)}


def push_raw_manifest(registry: RegistryProcess, repo: str, tag: str, raw: bytes, content_type: str) -> None:
    """The bytes as given, with our own Content-Type: what a hostile pusher does."""
    with httpx.Client(base_url=registry.url) as client:
        answer = client.put(f"/v2/{repo}/manifests/{tag}", content=raw, headers={"Content-Type": content_type})
    assert answer.status_code == 201, answer.text


def image_parts(registry: RegistryProcess, repo: str, *, docker: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """A config and a layer blob in ``repo``, as descriptors of the OCI or Docker media types."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    with httpx.Client(base_url=registry.url) as client:
        config_desc = push_blob(client, repo, config.encode(),
                                MediaType.DOCKER_CONFIG if docker else MediaType.OCI_CONFIG)
        layer_desc = push_blob(client, repo, b"layer bytes",
                               "application/vnd.docker.image.rootfs.diff.tar.gzip" if docker
                               else "application/vnd.oci.image.layer.v1.tar")
    return config_desc, layer_desc


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def assert_format_error(result: CliResult, *fragments: str) -> None:
    result.assert_one_line_error(ExitCode.INVALID_INPUT, *fragments)
    assert "internal error" not in result.stderr
    assert "hint: " in result.stderr


def each_command(source: str, tmp_path: Path) -> dict[str, CliResult]:
    return {
        "inspect": run_cli(["inspect", source]),
        "tree": run_cli(["tree", source]),
        "copy": run_cli(["copy", source, f"oci:{tmp_path / 'copied'}:x"]),
    }


# -- 9. numbers of thousands of digits --------------------------------------------------------------------------


def test_a_6000_digit_size_in_index_json_is_a_format_error(fixture_layout: Path, tmp_path: Path):
    layout = tmp_path / "layout"
    shutil.copytree(fixture_layout, layout)
    index = (layout / "index.json").read_text()
    (layout / "index.json").write_text(re.sub(r'"size":\s*\d+', f'"size":{HUGE}', index, count=1))
    for command, result in each_command(f"oci:{layout}:single", tmp_path).items():
        assert_format_error(result, "index.json is not valid JSON", "6000 digits")
        assert not (tmp_path / "copied").exists(), command


def test_a_6000_digit_number_in_a_registry_manifest_is_a_format_error(registry: RegistryProcess, tmp_path: Path):
    # distribution parses size as an int64 and refuses it, but keeps fields it does not know as they are.
    repo = "hostile/huge-number"
    config, layer = image_parts(registry, repo)
    good = {"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST, "config": config, "layers": [layer]}
    push_raw_manifest(registry, repo, "good", encode(good), MediaType.OCI_MANIFEST)
    raw = encode({**good, "x-count": 0}).replace(b'"x-count":0', f'"x-count":{HUGE}'.encode())
    push_raw_manifest(registry, repo, "huge", raw, MediaType.OCI_MANIFEST)

    for command, result in each_command(f"{registry.host}/{repo}:huge", tmp_path).items():
        assert_format_error(result, "manifest is not valid JSON", "6000 digits")
        assert not (tmp_path / "copied").exists(), command

    # control: the same image without the number
    for command, result in each_command(f"{registry.host}/{repo}:good", tmp_path).items():
        assert result.code == 0, (command, result)


def test_a_size_past_int64_in_index_json_is_a_format_error(fixture_layout: Path, tmp_path: Path):
    layout = tmp_path / "layout"
    shutil.copytree(fixture_layout, layout)
    index = (layout / "index.json").read_text()
    (layout / "index.json").write_text(re.sub(r'"size":\s*\d+', f'"size":{2**63}', index, count=1))
    result = run_cli(["inspect", f"oci:{layout}:single"])
    assert_format_error(result, "has no valid size")


# -- 7. documents that are an index and a manifest at once ------------------------------------------------------


def test_docker_manifest_list_with_config_and_layers_is_refused(registry: RegistryProcess, tmp_path: Path):
    repo = "hostile/ambiguous-list"
    config, layer = image_parts(registry, repo, docker=True)
    image = encode({"schemaVersion": 2, "mediaType": MediaType.DOCKER_MANIFEST, "config": config, "layers": [layer]})
    push_raw_manifest(registry, repo, "image", image, MediaType.DOCKER_MANIFEST)
    entry = {"mediaType": MediaType.DOCKER_MANIFEST, "digest": digest_of(image), "size": len(image),
             "platform": {"os": "linux", "architecture": "amd64"}}
    plain = {"schemaVersion": 2, "mediaType": MediaType.DOCKER_MANIFEST_LIST, "manifests": [entry]}
    push_raw_manifest(registry, repo, "list", encode(plain), MediaType.DOCKER_MANIFEST_LIST)
    push_raw_manifest(registry, repo, "both", encode({**plain, "config": config, "layers": [layer]}),
                      MediaType.DOCKER_MANIFEST_LIST)

    for command, result in each_command(f"{registry.host}/{repo}:both", tmp_path).items():
        assert_format_error(result, "index says it is", "image manifest field(s) config, layers")
        assert "GHSA-qq97-vm5h-rrhg" in result.stderr, command
        assert not (tmp_path / "copied").exists(), command

    # controls: the docker manifest list and its image, as they are
    for ref in ("list", "image"):
        for command, result in each_command(f"{registry.host}/{repo}:{ref}", tmp_path / ref).items():
            assert result.code == 0, (ref, command, result)


def test_docker_manifest_with_manifests_is_refused(registry: RegistryProcess, tmp_path: Path):
    repo = "hostile/ambiguous-manifest"
    config, layer = image_parts(registry, repo, docker=True)
    image = {"schemaVersion": 2, "mediaType": MediaType.DOCKER_MANIFEST, "config": config, "layers": [layer]}
    raw = encode(image)
    entry = {"mediaType": MediaType.DOCKER_MANIFEST, "digest": digest_of(raw), "size": len(raw)}
    push_raw_manifest(registry, repo, "both", encode({**image, "manifests": [entry]}), MediaType.DOCKER_MANIFEST)

    result = run_cli(["inspect", f"{registry.host}/{repo}:both"])
    assert_format_error(result, "image manifest says it is", "has the index field manifests")


def _crafted_layout(fixture_layout: Path, tmp_path: Path, doc: dict[str, Any], media_type: str) -> Path:
    """The fixture layout plus a blob ``doc`` tagged ``hostile`` with the descriptor media type ``media_type``."""
    layout = tmp_path / "layout"
    shutil.copytree(fixture_layout, layout)
    raw = encode(doc)
    (layout / "blobs" / "sha256" / digest_of(raw).removeprefix("sha256:")).write_bytes(raw)
    index = json.loads((layout / "index.json").read_text())
    index["manifests"].append({"mediaType": media_type, "digest": digest_of(raw), "size": len(raw),
                               "annotations": {"org.opencontainers.image.ref.name": "hostile"}})
    (layout / "index.json").write_text(json.dumps(index))
    return layout


def _fixture_entries(fixture_layout: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The ``single`` image's manifest descriptor, and its config and first layer descriptors."""
    index = json.loads((fixture_layout / "index.json").read_text())
    single = next(e for e in index["manifests"]
                  if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == "single")
    manifest = json.loads((fixture_layout / "blobs" / "sha256" / single["digest"].split(":")[1]).read_bytes())
    return ({key: single[key] for key in ("mediaType", "digest", "size")}, manifest["config"], manifest["layers"][0])


@pytest.mark.parametrize("media_type", [MediaType.OCI_INDEX, MediaType.OCI_MANIFEST])
def test_oci_document_without_media_type_that_is_both_is_refused_in_a_layout(
    fixture_layout: Path, tmp_path: Path, media_type: str
):
    """GHSA-qq97-vm5h-rrhg: no mediaType, manifests and config/layers: an index by one descriptor, a manifest by
    another. Either way it is refused, so no two readers see different images."""
    entry, config, layer = _fixture_entries(fixture_layout)
    doc = {"schemaVersion": 2, "manifests": [entry], "config": config, "layers": [layer]}
    layout = _crafted_layout(fixture_layout, tmp_path, doc, media_type)
    for command, result in each_command(f"oci:{layout}:hostile", tmp_path).items():
        assert_format_error(result, "has no mediaType and was read as")
        assert not (tmp_path / "copied").exists(), command


@pytest.mark.parametrize("doc_type", ["index", "manifest", "artifact"])
def test_oci_documents_without_media_type_still_work_in_a_layout(fixture_layout: Path, tmp_path: Path,
                                                                 doc_type: str):
    """Controls: image-spec allows omitting mediaType; documents whose fields fit one type are read as that."""
    entry, config, layer = _fixture_entries(fixture_layout)
    docs = {
        "index": ({"schemaVersion": 2, "manifests": [entry]}, MediaType.OCI_INDEX),
        "manifest": ({"schemaVersion": 2, "config": config, "layers": [layer]}, MediaType.OCI_MANIFEST),
        "artifact": ({"schemaVersion": 2, "artifactType": "application/vnd.example.test",
                      "config": {"mediaType": MediaType.OCI_EMPTY, "digest": digest_of(b"{}"), "size": 2},
                      "layers": [layer]}, MediaType.OCI_MANIFEST),
    }
    doc, media_type = docs[doc_type]
    layout = _crafted_layout(fixture_layout, tmp_path, doc, media_type)
    (layout / "blobs" / "sha256" / digest_of(b"{}").removeprefix("sha256:")).write_bytes(b"{}")
    for command, result in each_command(f"oci:{layout}:hostile", tmp_path / doc_type).items():
        assert result.code == 0, (command, result)


def test_index_json_with_manifest_fields_is_refused(fixture_layout: Path, tmp_path: Path):
    layout = tmp_path / "layout"
    shutil.copytree(fixture_layout, layout)
    _, config, layer = _fixture_entries(fixture_layout)
    index = json.loads((layout / "index.json").read_text())
    (layout / "index.json").write_text(json.dumps({**index, "config": config, "layers": [layer]}))
    result = run_cli(["inspect", f"oci:{layout}:single"])
    result.assert_one_line_error(ExitCode.INVALID_INPUT, "image index but has image manifest fields")
