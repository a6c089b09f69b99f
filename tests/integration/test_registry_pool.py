"""One ``verify`` of several images of one registry shares one registry client (``registry.RegistryPool``, issue 9
item 4): one ``/v2/`` probe and one token per scope for the run (concurrent first requests wait for one token
fetch), not one per image. Counted on
the wire, from ``--debug``'s request log and the token service's own records, against the real token-auth
registry of ``tests/integration/conftest.py``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from supplychain.keys import generate_key_pair, write_public_key
from tests.support.registry import RegistryProcess, saved_login
from tests.support.signatures import run_cli
from tests.support.token_issuer import PUSH_PASSWORD, PUSH_USER, TokenIssuer

pytestmark = pytest.mark.integration

IMAGES = 5


def test_five_images_of_one_registry_share_one_probe_and_one_token(
    token_registry: RegistryProcess, token_issuer: TokenIssuer, fixture_layout: Path, tmp_path: Path
):
    env = saved_login(tmp_path / "docker", token_registry.host, PUSH_USER, PUSH_PASSWORD)
    images = [f"{token_registry.host}/pool/app:{number}" for number in range(IMAGES)]
    for image in images:
        assert run_cli(["copy", f"oci:{fixture_layout}:single", image], env=env).code == 0
    write_public_key(tmp_path / "cosign.pub", generate_key_pair().public_key)
    token_issuer.clear()

    result = run_cli(["--debug", "verify", "--key", str(tmp_path / "cosign.pub"), "--insecure-ignore-tlog",
                      "--concurrency", "3", *images], env=env)
    assert result.code == 1, result  # unsigned: each image is answered (no signature), none is an error
    assert result.stderr.count("ERROR") == 0, result.stderr
    at_registry = re.escape(token_registry.url)
    pings = re.findall(rf"^debug: > GET {at_registry}/v2/ ", result.stderr, re.MULTILINE)
    challenges = re.findall(rf"^debug: < 401 \w+ {at_registry}/", result.stderr, re.MULTILINE)
    asked = set(re.findall(rf"^debug: > HEAD {at_registry}/v2/pool/app/manifests/(\d) ", result.stderr, re.MULTILINE))
    assert asked == {str(number) for number in range(IMAGES)}, result.stderr  # every image, on the one client
    assert len(pings) == 1, result.stderr
    # The ping's 401, then at most one per image asked before the first token came back (--concurrency 3): the
    # images after those go with the cached token up front.
    assert len(challenges) <= 1 + 3, result.stderr
    granted = [record for record in token_issuer.records if record.status == 200]
    assert len(granted) == 1, token_issuer.records  # one pull token for pool/app: fetched once, shared by the run
