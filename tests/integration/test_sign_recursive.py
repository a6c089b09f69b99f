"""``sign --recursive`` over a 20-platform index, on the real registry and on an OCI layout (issue 10, items 3
and 4): the platforms are signed concurrently, reported in index order, every signature is stored, no sleep is
taken on the way, and each request is sent once (the request log of ``--debug`` counts them).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.digest import Digest
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.model import Manifest
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from supplychain.signing import sign_image
from supplychain.verify import VerifyPolicy, verify_image
from tests.support.images import put_platform_index
from tests.support.registry import RegistryProcess
from tests.support.signatures import generate_cli_key_pair, new_key, run_cli

pytestmark = pytest.mark.integration

PASSWORD = "TEST-ONLY-recursive"
PLATFORMS = 20
_REQUEST = re.compile(r"> (GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) ")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_cli_key_pair(tmp_path_factory.mktemp("recursive-keys") / "cosign", PASSWORD)


def signed_digests(stderr: str) -> list[str]:
    return re.findall(r"^Pushed signature for (sha256:[0-9a-f]{64})", stderr, re.MULTILINE)


def test_sign_recursive_on_the_registry(registry: RegistryProcess, keys: tuple[Path, Path], tmp_path: Path):
    settings = Settings(docker_config_dir=tmp_path)
    repository = f"{registry.host}/recursive/twenty"
    with open_repository(parse_image_reference(repository), settings) as store:
        index, children = put_platform_index(store, PLATFORMS)

    result = run_cli(["--debug", "sign", "--recursive", "--concurrency", "4", "--key", str(keys[0]),
                      "--tlog-upload=false", f"{repository}@{index.digest}"],
                     env={"DOCKER_CONFIG": str(tmp_path), "SUPPLYCHAIN_PASSWORD": PASSWORD})
    assert result.code == 0, result.stderr[-3000:]
    targets = [str(index.digest), *(str(c.digest) for c in children)]
    assert signed_digests(result.stderr) == targets  # index order, whatever finished first

    requests = Counter(_REQUEST.findall(result.stderr))
    heads = {url: n for (method, url), n in requests.items() if method == "HEAD"}
    assert all(n == 1 for n in heads.values()), {u: n for u, n in heads.items() if n > 1}
    # Per manifest: the payload blob and the .sig config blob, each asked for once; and the resolve of the index.
    assert len(heads) == 1 + 2 * len(targets)
    for digest in targets:
        tag_url = f"/manifests/{attachment_tag(Digest.parse(digest), AttachmentKind.SIGNATURE)}"
        reads = sum(n for (method, url), n in requests.items() if method == "GET" and url.endswith(tag_url))
        puts = sum(n for (method, url), n in requests.items() if method == "PUT" and url.endswith(tag_url))
        # read, read again just before the put, confirm twice (oci.tagwriter: settle apart, on a registry); one put
        assert (reads, puts) == (4, 1), digest

    with open_repository(parse_image_reference(repository), settings) as store:
        for digest in targets:
            code, _, err = run_verify(repository, digest, keys[1], tmp_path)
            assert code == 0, (digest, err)
            sig = store.get_manifest(attachment_tag(Digest.parse(digest), AttachmentKind.SIGNATURE))
            assert isinstance(sig, Manifest) and len(sig.layers) == 1


def test_sign_recursive_waits_only_to_confirm_each_put_once_more(registry: RegistryProcess, tmp_path: Path):
    """The library path the CLI takes, with ``sleep`` counted: signing 21 manifests, 4 at a time, sleeps only
    before the second confirming read of each ``.sig`` put (``oci.tagwriter``: a registry's tag lock does not bind
    writers elsewhere), each a measured few times the put's own duration, never a fixed settle delay."""
    from supplychain.oci.tagwriter import SETTLE_CAP, SETTLE_FLOOR

    settings = Settings(docker_config_dir=tmp_path)
    repository = f"{registry.host}/recursive/no-sleep"
    pair = new_key()
    sleeps: list[float] = []
    with open_repository(parse_image_reference(repository), settings) as store:
        index, children = put_platform_index(store, PLATFORMS)
        result = sign_image(store, index, pair.private_key, docker_reference=repository, recursive=True,
                            concurrency=4, sleep=sleeps.append)
        assert [image.subject.digest for image in result.images] == [index.digest, *(c.digest for c in children)]
        policy = VerifyPolicy((pair.public_key,), insecure_ignore_tlog=True)
        assert all(verify_image(store, image.subject.digest, policy).verified for image in result.images)
    assert len(sleeps) == 1 + PLATFORMS and all(SETTLE_FLOOR <= pause <= SETTLE_CAP for pause in sleeps)


def test_sign_recursive_on_a_layout(keys: tuple[Path, Path], tmp_path: Path):
    path = tmp_path / "layout"
    with OciLayout(path, create=True) as layout:
        index, children = put_platform_index(layout, PLATFORMS)
    result = run_cli(["sign", "--recursive", "--concurrency", "8", "--key", str(keys[0]), "--tlog-upload=false",
                      "--reference-name", "registry.example/recursive", f"oci:{path}@{index.digest}"],
                     env={"SUPPLYCHAIN_PASSWORD": PASSWORD})
    assert result.code == 0, result.stderr[-3000:]
    targets = [index.digest, *(c.digest for c in children)]
    assert signed_digests(result.stderr) == [str(d) for d in targets]
    pair_public = keys[1]
    for digest in targets:
        verified = run_cli(["verify", "--key", str(pair_public), "--insecure-ignore-tlog",
                            f"oci:{path}@{digest}"])
        assert verified.code == 0, (digest, verified.stderr)
    with OciLayout(path) as layout:  # every .sig tag listed once in index.json, none lost to a concurrent write
        tags = [t for t in layout.tags() if t.endswith(".sig")]
        assert sorted(tags) == sorted(attachment_tag(d, AttachmentKind.SIGNATURE) for d in targets)


def run_verify(repository: str, digest: str, public_key: Path, docker_config: Path) -> tuple[int, str, str]:
    result = run_cli(["verify", "--key", str(public_key), "--insecure-ignore-tlog", f"{repository}@{digest}"],
                     env={"DOCKER_CONFIG": str(docker_config)})
    return result.code, result.stdout, result.stderr

