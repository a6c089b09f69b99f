"""``RegistryAuth`` against the real CNCF registry behind htpasswd Basic auth (fixture ``auth_registry``)."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from supplychain.errors import AuthError, ExitCode
from supplychain.registry.auth import RegistryAuth
from supplychain.registry.credentials import Credentials
from tests.support.registry import TEST_PASSWORD, TEST_USER, RegistryProcess

pytestmark = pytest.mark.integration

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(client: httpx.Client, registry: RegistryProcess, repository: str, data: bytes,
              auth: httpx.Auth) -> dict[str, object]:
    started = client.post(f"{registry.url}/v2/{repository}/blobs/uploads/", auth=auth)
    assert started.status_code == 202, started.text
    location = httpx.URL(registry.url).join(started.headers["Location"]).copy_add_param("digest", digest(data))
    done = client.put(location, content=data, headers={"Content-Type": "application/octet-stream"}, auth=auth)
    assert done.status_code == 201, done.text
    return {"digest": digest(data), "size": len(data)}


def push_image(client: httpx.Client, registry: RegistryProcess, repository: str, tag: str,
               auth: httpx.Auth) -> tuple[str, bytes]:
    """Push a one-layer OCI image (blobs first, then the manifest); return its digest and the layer."""
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    layer = f"TEST-ONLY layer of {repository}".encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **push_blob(client, registry, repository, config, auth)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    **push_blob(client, registry, repository, layer, auth)}],
    }).encode()
    put = client.put(f"{registry.url}/v2/{repository}/manifests/{tag}", content=manifest,
                     headers={"Content-Type": OCI_MANIFEST}, auth=auth)
    assert put.status_code == 201, put.text
    return digest(manifest), layer


def pull_image(client: httpx.Client, registry: RegistryProcess, repository: str, reference: str,
               auth: httpx.Auth) -> tuple[str, bytes]:
    got = client.get(f"{registry.url}/v2/{repository}/manifests/{reference}", headers={"Accept": OCI_MANIFEST},
                     auth=auth)
    assert got.status_code == 200, got.text
    layer = json.loads(got.content)["layers"][0]["digest"]
    blob = client.get(f"{registry.url}/v2/{repository}/blobs/{layer}", auth=auth)
    assert blob.status_code == 200
    assert digest(blob.content) == layer
    return digest(got.content), blob.content


def test_push_and_pull_with_basic_credentials(auth_registry: RegistryProcess):
    auth = RegistryAuth(auth_registry.host, Credentials(TEST_USER, TEST_PASSWORD), plain_http=True)
    with httpx.Client(follow_redirects=False) as client:
        pushed, layer = push_image(client, auth_registry, "auth/basic", "v1", auth)
        assert pull_image(client, auth_registry, "auth/basic", pushed, auth) == (pushed, layer)


def test_wrong_password_is_unauthorized(auth_registry: RegistryProcess):
    auth = RegistryAuth(auth_registry.host, Credentials(TEST_USER, "wrong"), plain_http=True)
    with httpx.Client() as client, pytest.raises(AuthError) as info:
        client.get(f"{auth_registry.url}/v2/", auth=auth)
    assert "unauthorized: authentication required" in info.value.message
    assert "user name and password" in info.value.hint
    assert info.value.exit_code == ExitCode.AUTH


def test_no_credentials_is_no_basic_auth_credentials(auth_registry: RegistryProcess):
    auth = RegistryAuth(auth_registry.host, None, plain_http=True)
    with httpx.Client() as client, pytest.raises(AuthError) as info:
        client.get(f"{auth_registry.url}/v2/auth/basic/tags/list", auth=auth)
    assert "no basic auth credentials" in info.value.message
    assert f"supplychain login {auth_registry.host}" in info.value.hint
