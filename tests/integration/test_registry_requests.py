"""What ``tree`` and ``verify`` send to a real registry, counted on the wire by a proxy in front of it
(``tests/support/tcp_proxy.py``; issue 10, items 2 and 3): one ``/v2/`` probe, one connection and one 401 per
scope per run, however many images; one request per referrer in a tree (the repository's tags are listed once
instead of probing four missing tags per referrer); and never more than ``--concurrency`` requests in flight to the
registry, with the same tree at any concurrency."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from supplychain.keys import generate_key_pair, write_public_key
from tests.support.referrers import push_image_with_referrers
from tests.support.registry import TEST_PASSWORD, TEST_USER, RegistryProcess, saved_login
from tests.support.signatures import generate_cli_key_pair, run_cli
from tests.support.tcp_proxy import CountingProxy
from tests.support.token_issuer import PUSH_PASSWORD, PUSH_USER, TokenIssuer

pytestmark = pytest.mark.integration

REFERRERS = 30
IMAGES = 5


@pytest.fixture(scope="module")
def crowded(registry: RegistryProcess) -> tuple[str, str]:
    """An image with ``REFERRERS`` referrers (in the referrers tag: the registry has no referrers API)."""
    repository = f"crowded/{uuid.uuid4().hex[:12]}"
    pushed = push_image_with_referrers(registry.url, repository, REFERRERS)
    return repository, pushed.tag


def _tree(proxy: CountingProxy, repository: str, tag: str, *args: str) -> str:
    result = run_cli(["tree", *args, f"{proxy.host}/{repository}:{tag}"])
    assert result.code == 0, result
    return result.stdout


def test_tree_asks_once_per_referrer_not_five_times(registry: RegistryProcess, crowded: tuple[str, str]):
    repository, tag = crowded
    with CountingProxy(registry.url) as proxy:
        _tree(proxy, repository, tag, "--concurrency", "1")
    seen = [(r.method, r.status) for r in proxy.requests]
    # The image and each referrer: one manifest each, plus the referrers tag (the listing) and the tag listing.
    assert proxy.count("GET", "/manifests/", 200) == REFERRERS + 2, seen
    assert proxy.count("GET", "/tags/list", 200) == 1, seen
    # The only probes answered "not there": the referrers API (once per registry), and the image's three cosign
    # tags, asked before the listing pays off (registry.tagsnapshot); none per referrer.
    assert proxy.count(status=404) == 1 + 3, seen
    assert proxy.count("GET", "/referrers/", 404) == 1
    assert proxy.pings == 1
    assert len(proxy.requests) == REFERRERS + 2 + 1 + 4 + 1 + 1  # ... and the tag's HEAD
    assert proxy.http_connections == 1, proxy.connections  # one keep-alive connection (and the HTTPS attempt)


def test_tree_is_the_same_at_any_concurrency_and_never_over_the_cap(registry: RegistryProcess,
                                                                     crowded: tuple[str, str]):
    repository, tag = crowded
    outputs = {}
    for concurrency in (1, 3, 8):
        # Each request held a moment, so that concurrent ones overlap at the proxy and the cap is what limits them.
        with CountingProxy(registry.url, delay=0.02) as proxy:
            outputs[concurrency] = _tree(proxy, repository, tag, "--concurrency", str(concurrency), "-o", "json")
        assert proxy.max_in_flight <= concurrency, (concurrency, proxy.max_in_flight)
        if concurrency > 1:
            assert proxy.max_in_flight > 1, "the referrers were read one after the other"
    assert outputs[1] == outputs[3] == outputs[8]
    assert len(json.loads(outputs[1])["children"]) == REFERRERS


def test_the_environment_caps_requests_in_flight(registry: RegistryProcess, crowded: tuple[str, str]):
    repository, tag = crowded
    with CountingProxy(registry.url, delay=0.02) as proxy:
        result = run_cli(["tree", f"{proxy.host}/{repository}:{tag}"], env={"SUPPLYCHAIN_CONCURRENCY": "2"})
    assert result.code == 0, result
    assert 1 < proxy.max_in_flight <= 2


def test_a_concurrency_over_the_range_is_refused():
    result = run_cli(["tree", "--concurrency", "65", "127.0.0.1:1/x:y"])
    assert result.code == 2 and "--concurrency" in result.stderr and "Traceback" not in result.stderr, result
    result = run_cli(["tree", "127.0.0.1:1/x:y"], env={"SUPPLYCHAIN_CONCURRENCY": "65"})
    assert result.code != 0 and result.stderr.startswith("error: SUPPLYCHAIN_CONCURRENCY=65 is over 64"), result
    assert "hint:" in result.stderr


def _five_images(registry: RegistryProcess, fixture_layout: Path, env: dict[str, str | None] | None = None,
                 *, repositories: bool = False) -> list[str]:
    name = uuid.uuid4().hex[:8]
    images = [f"{registry.host}/five-{name}{f'-{n}' if repositories else ''}/app:{n}" for n in range(IMAGES)]
    for image in images:
        assert run_cli(["copy", f"oci:{fixture_layout}:single", image], env=env).code == 0
    return images


def _verify(images: list[str], tmp_path: Path, *args: str, env: dict[str, str | None] | None = None) -> str:
    write_public_key(tmp_path / "cosign.pub", generate_key_pair().public_key)
    result = run_cli(["--debug", "verify", "--key", str(tmp_path / "cosign.pub"), "--insecure-ignore-tlog", *args,
                      *images], env=env)
    assert result.code == 1, result  # unsigned: each image answered (no signature), none an error
    assert "ERROR" not in result.stderr, result.stderr
    return result.stderr


def test_verify_of_five_images_pings_once_on_one_connection(registry: RegistryProcess, fixture_layout: Path,
                                                            tmp_path: Path):
    images = _five_images(registry, fixture_layout)
    with CountingProxy(registry.url) as proxy:
        _verify([image.replace(registry.host, proxy.host) for image in images], tmp_path, "--concurrency", "1")
    assert proxy.pings == 1  # one for the run
    assert proxy.count("HEAD", "/manifests/", 200) == IMAGES
    assert proxy.http_connections == 1, proxy.requests  # one keep-alive connection for the five images
    assert proxy.connections == 2  # and the one HTTPS attempt of scheme discovery (a loopback registry)


def test_verify_of_five_images_is_challenged_once_with_basic_auth(auth_registry: RegistryProcess,
                                                                  fixture_layout: Path, tmp_path: Path):
    env = saved_login(tmp_path / "docker", auth_registry.host, TEST_USER, TEST_PASSWORD)
    images = _five_images(auth_registry, fixture_layout, env)
    stderr = _verify(images, tmp_path, "--concurrency", "3", env=env)
    at = re.escape(auth_registry.url)
    # The ping's 401 says Basic: every request after it carries the password up front.
    assert len(re.findall(rf"^debug: < 401 \w+ {at}/", stderr, re.MULTILINE)) == 1, stderr
    assert len(re.findall(rf"^debug: > GET {at}/v2/ ", stderr, re.MULTILINE)) == 1, stderr


def test_verify_across_repositories_gets_one_token_per_scope_and_no_401_but_the_ping(
    token_registry: RegistryProcess, token_issuer: TokenIssuer, fixture_layout: Path, tmp_path: Path
):
    env = saved_login(tmp_path / "docker", token_registry.host, PUSH_USER, PUSH_PASSWORD)
    images = _five_images(token_registry, fixture_layout, env, repositories=True)
    token_issuer.clear()
    stderr = _verify(images, tmp_path, "--concurrency", "3", env=env)
    at = re.escape(token_registry.url)
    # The ping's challenge names the token service: each repository's pull token is fetched before its first
    # request, so the registry never has to challenge one.
    assert len(re.findall(rf"^debug: < 401 \w+ {at}/", stderr, re.MULTILINE)) == 1, stderr
    granted = [record for record in token_issuer.records if record.status == 200]
    assert len(granted) == IMAGES, token_issuer.records  # one per scope (repository:...:pull)


def test_verify_reads_several_signatures_at_once_with_the_same_answer(registry: RegistryProcess,
                                                                     fixture_layout: Path, tmp_path: Path):
    key, pub = generate_cli_key_pair(tmp_path / "cosign", "TEST-ONLY-pw")
    image = f"{registry.host}/signed-{uuid.uuid4().hex[:8]}/app:1"
    assert run_cli(["copy", f"oci:{fixture_layout}:single", image]).code == 0
    for n, signature_format in enumerate(("legacy", "bundle", "legacy", "bundle")):
        signed = run_cli(["sign", "--key", str(key), "--format", signature_format, "-a", f"n={n}", "--no-tlog-upload",
                          image],
                         env={"SUPPLYCHAIN_PASSWORD": "TEST-ONLY-pw"})
        assert signed.code == 0, signed
    answers = [run_cli(["verify", "--key", str(pub), "--insecure-ignore-tlog", "--concurrency", concurrency, image])
               for concurrency in ("1", "8")]
    assert answers[0].code == answers[1].code == 0, answers
    assert answers[0].stdout == answers[1].stdout and answers[0].stderr == answers[1].stderr
    assert answers[0].stdout.count("docker-manifest-digest") == 4, answers[0]
