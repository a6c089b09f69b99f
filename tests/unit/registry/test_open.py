"""open_repository: API host, saved credentials and the auth flow wired to the transport."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from supplychain.config import Settings
from supplychain.errors import AuthError
from supplychain.oci.mediatype import MediaType
from supplychain.reference import parse_image_reference
from supplychain.registry import open_repository
from supplychain.registry.repository import RegistryRepository
from tests.unit.registry.fake import FakeRegistry, image


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def guarded(fake: FakeRegistry, expected: str, seen: list[httpx.Request]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="test"'},
                                  json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
        return fake.handle(request)

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_saved_credentials_answer_the_challenge(tmp_path: Path) -> None:
    fake = FakeRegistry()
    manifest = image()
    fake.put("team/app", manifest.raw, MediaType.OCI_MANIFEST, "v1")
    auth = base64.b64encode(b"alice:s3cret").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"registry.test": {"auth": auth}}}))
    seen: list[httpx.Request] = []
    ref = parse_image_reference("registry.test/team/app:v1")
    with open_repository(ref, Settings(docker_config_dir=tmp_path),
                         client=guarded(fake, basic("alice", "s3cret"), seen)) as repo:
        assert isinstance(repo, RegistryRepository)
        assert repo.get_manifest(ref.identifier).digest == manifest.digest
    assert str(seen[-1].url) == "https://registry.test/v2/team/app/manifests/v1"
    assert seen[-1].headers["Authorization"] == basic("alice", "s3cret")


def test_without_credentials_the_error_says_log_in(tmp_path: Path) -> None:
    ref = parse_image_reference("registry.test/team/app:v1")
    with open_repository(ref, Settings(docker_config_dir=tmp_path),
                         client=guarded(FakeRegistry(), "never", [])) as repo, pytest.raises(AuthError) as info:
        repo.get_manifest("v1")
    assert "supplychain login registry.test" in info.value.hint


def test_docker_hub_goes_to_its_api_host(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    fake = FakeRegistry()
    manifest = image()
    fake.put("library/alpine", manifest.raw, MediaType.OCI_MANIFEST, "latest")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fake.handle(request)

    ref = parse_image_reference("alpine")
    with open_repository(ref, Settings(docker_config_dir=tmp_path),
                         client=httpx.Client(transport=httpx.MockTransport(handler))) as repo:
        assert repo.resolve(ref.identifier).digest == manifest.digest
    assert str(seen[0].url) == "https://registry-1.docker.io/v2/library/alpine/manifests/latest"


def test_a_broken_credential_helper_does_not_block_an_anonymous_registry(tmp_path: Path) -> None:
    # skopeo behaves so: credentials are looked up when the registry asks for them, not before.
    fake = FakeRegistry()
    manifest = image()
    fake.put("team/app", manifest.raw, MediaType.OCI_MANIFEST, "v1")
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "no-such-helper-anywhere"}))
    settings = Settings(docker_config_dir=tmp_path)
    with open_repository(parse_image_reference(f"{fake.host}/team/app:v1"), settings,
                         client=httpx.Client(transport=httpx.MockTransport(fake.handle))) as repo:
        assert repo.resolve("v1").digest == manifest.digest


def test_the_broken_helper_is_reported_when_the_registry_asks(tmp_path: Path) -> None:
    from supplychain.errors import ConfigurationError

    fake = FakeRegistry()
    (tmp_path / "config.json").write_text(json.dumps({"credsStore": "no-such-helper-anywhere"}))
    settings = Settings(docker_config_dir=tmp_path)
    with open_repository(parse_image_reference(f"{fake.host}/team/app:v1"), settings,
                         client=guarded(fake, "Basic x", [])) as repo, pytest.raises(ConfigurationError) as info:
        repo.resolve("v1")
    assert "no-such-helper-anywhere" in info.value.message
