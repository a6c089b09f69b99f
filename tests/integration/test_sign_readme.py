"""The README's "Signing and verifying, as with cosign" example works as written, against the real registry.

Its commands are read from README.md and run in order, with only the placeholders filled in: the image
(``ghcr.io/org/app@sha256:...``, here an image pushed to the test registry), ``$GITHUB_SHA``, the password, and
the ``./layout`` directory (the fixture image under tag ``1.0``).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.support.fixture import FIXTURES_DIR
from tests.support.registry import RegistryProcess
from tests.support.signatures import run_cli

pytestmark = pytest.mark.integration

SECTION = "### Signing and verifying, as with cosign"
GIT_SHA = "0123456789abcdef"


def readme_commands() -> list[list[str]]:
    """The shell commands of the section's first code block, split as the shell would (comments dropped)."""
    text = (FIXTURES_DIR.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text[text.index(SECTION):], re.DOTALL)
    assert block is not None
    return [shlex.split(line, comments=True) for line in block.group(1).splitlines() if line.strip()]


def test_readme_signing_example_runs_as_written(registry: RegistryProcess, fixture_layout: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # generate-key-pair writes cosign.key and cosign.pub here, as for a reader
    env: dict[str, str | None] = {"DOCKER_CONFIG": str(tmp_path), "SUPPLYCHAIN_REKOR_URL": None}
    image = f"{registry.host}/readme/app"
    copied = run_cli(["copy", f"oci:{fixture_layout}:single", f"{image}:1"], env=env)
    assert copied.code == 0, copied
    digest = copied.stdout.strip().rpartition("@")[2]
    assert run_cli(["copy", f"oci:{fixture_layout}:single", "oci:./layout:1.0"], env=env).code == 0

    commands = readme_commands()
    assert commands[0] == ["export", "SUPPLYCHAIN_PASSWORD=..."] and commands[1] == ["supplychain", "generate-key-pair"]
    env["SUPPLYCHAIN_PASSWORD"] = "TEST-ONLY-readme"
    ran = []
    for argv in commands[1:]:
        assert argv[0] == "supplychain"
        argv, bar, jq = (argv[: argv.index("|")], "|", argv[argv.index("|") + 1:]) if "|" in argv else (argv, "", [])
        args = [arg.replace("ghcr.io/org/app@sha256:...", f"{image}@{digest}").replace("$GITHUB_SHA", GIT_SHA)
                for arg in argv[1:]]
        result = run_cli(args, env=env)
        assert result.code == 0, (args, result)
        if bar:  # cosign's CI idiom on verify's stdout (issue 8.6): one JSON array, read here as jq would
            assert jq == ["jq", ".[0].critical.image"], jq
            assert json.loads(result.stdout)[0]["critical"]["image"] == {"docker-manifest-digest": digest}
        ran.append((args[0], result))
    assert [name for name, _ in ran] == ["generate-key-pair", "sign", "verify", "sign"]
    verified = ran[2][1]
    payloads = json.loads(verified.stdout)
    assert [p["optional"]["git_sha"] for p in payloads] == [GIT_SHA]
    assert payloads[0]["critical"]["image"]["docker-manifest-digest"] == digest
