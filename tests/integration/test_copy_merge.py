"""Issue 8.1: ``copy`` never destroys what only the destination holds. A mirror countersigns a copied image with
key B; copying the image again from a source signed with key A used to replace the destination's ``.sig``
manifest (B's signature gone, exit 0). Now the ``.sig`` layers (and the referrers) are merged, the merge is
reported, and copying again adds no duplicates. Against the real registry and an OCI layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.model import Manifest
from supplychain.oci.store import ArtifactStore
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from tests.support.registry import RegistryProcess
from tests.support.signatures import CliResult, generate_cli_key_pair, run_cli

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
PASSWORD = "TEST-ONLY-merge"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    return {name: generate_cli_key_pair(tmp_path_factory.mktemp(f"key-{name}") / name, PASSWORD) for name in ("a", "b")}


def sign(ref: str, key: Path, *extra: str) -> CliResult:
    result = run_cli(["sign", ref, "--key", str(key), "--reference-name", NAME, *extra],
                     env={"SUPPLYCHAIN_PASSWORD": PASSWORD})
    assert result.code == 0, result
    return result


def verify(ref: str, pub: Path) -> CliResult:
    return run_cli(["verify", ref, "--key", str(pub), "--insecure-ignore-tlog", "-o", "json"])


def copy(source: str, destination: str) -> CliResult:
    result = run_cli(["copy", source, destination, "-o", "json"])
    assert result.code == 0, result
    return result


@pytest.fixture(params=["registry", "layout"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, ArtifactStore]:
    if request.param == "registry":
        registry: RegistryProcess = request.getfixturevalue("registry")
        repo = f"merge/{tmp_path.name.replace('_', '-').lower()}"
        store: ArtifactStore = open_repository(parse_image_reference(f"{registry.host}/{repo}"), Settings())
        return f"{registry.host}/{repo}", store
    path = tmp_path / "dst"
    return f"oci:{path}", _LazyLayout(path)  # type: ignore[return-value]


class _LazyLayout:
    """The destination layout, opened when first used (the first copy creates it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __getattr__(self, name: str) -> object:
        return getattr(OciLayout(self.path), name)


def sig_layers(store: ArtifactStore, digest: str) -> list[str]:
    from supplychain.digest import Digest

    manifest = store.get_manifest(attachment_tag(Digest.parse(digest), AttachmentKind.SIGNATURE))
    assert isinstance(manifest, Manifest)
    return [layer.annotations["dev.cosignproject.cosign/signature"] for layer in manifest.layers]


def test_copy_merges_the_destinations_signatures_and_adds_no_duplicates(
    fixture_layout_copy: Path, keys: dict[str, tuple[Path, Path]], destination: tuple[str, ArtifactStore]
):
    (key_a, pub_a), (key_b, pub_b) = keys["a"], keys["b"]
    where, store = destination
    source = f"oci:{fixture_layout_copy}:single"
    sign(source, key_a)
    digest = json.loads(copy(source, f"{where}:v1").stdout)["digest"]
    assert verify(f"{where}@{digest}", pub_a).code == 0  # the control: copied with its signature

    sign(f"{where}@{digest}", key_b)  # the mirror's countersignature (same payload, another signature)
    sign(f"{where}@{digest}", key_b, "--format", "bundle")  # and a referrer only the destination has
    assert len(sig_layers(store, digest)) == 2
    sign(source, key_a, "-a", "again=yes")  # the source gains a signature the destination lacks

    result = copy(source, f"{where}:v1")
    for pub in (pub_a, pub_b):
        verified = verify(f"{where}@{digest}", pub)
        assert verified.code == 0, verified  # B's signature used to be gone here
    assert len(sig_layers(store, digest)) == 3
    report = json.loads(result.stdout)
    sig_tag = attachment_tag(store.resolve("v1").digest, AttachmentKind.SIGNATURE)
    assert report["merged"] == [{"tag": sig_tag, "added": 1, "kept": 1}]
    assert f"merged {sig_tag}: added 1 layer(s) of the source to the destination's, kept 1" in result.stderr
    assert "2 of 4 signatures (legacy-tag, referrer)" in verify(f"{where}@{digest}", pub_b).stderr

    again = json.loads(copy(source, f"{where}:v1").stdout)  # nothing new: nothing appended, nothing replaced
    assert again["merged"] == [{"tag": sig_tag, "added": 0, "kept": 1}]
    assert len(sig_layers(store, digest)) == 3
    assert len(store.referrers(store.resolve("v1").digest)) == 1


def test_a_destination_without_extra_layers_gets_the_source_byte_for_byte(
    fixture_layout_copy: Path, keys: dict[str, tuple[Path, Path]], destination: tuple[str, ArtifactStore]
):
    """The control: when the destination holds nothing the source lacks, the source's manifest is copied as it
    is (its digest kept), and no merge is reported."""
    key_a = keys["a"][0]
    where, store = destination
    source = f"oci:{fixture_layout_copy}:single"
    sign(source, key_a)
    copy(source, f"{where}:v1")
    sign(source, key_a, "-a", "second=yes")
    report = json.loads(copy(source, f"{where}:v1").stdout)
    assert report["merged"] == []
    src_store = OciLayout(fixture_layout_copy)
    tag = attachment_tag(src_store.resolve("single").digest, AttachmentKind.SIGNATURE)
    assert store.resolve(tag).digest == src_store.resolve(tag).digest
