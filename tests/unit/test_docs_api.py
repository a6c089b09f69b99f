"""The library example in docs/api.md runs as written (the block is extracted from the page, so it cannot go stale):
an image of an OCI layout, signed with a key and logged in a local transparency log, verifies with that key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from supplychain.keys import generate_key_pair, write_public_key
from supplychain.layout import OciLayout
from supplychain.signing import sign_image
from tests.support.signatures import fixed_clock
from tests.support.tlog import InProcessLog

API_PAGE = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def example() -> str:
    """The ``python`` block under the page's "Example" heading."""
    page = API_PAGE.read_text(encoding="utf-8")
    section = page[page.index("\n## Example"):]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "docs/api.md: no python block in the Example section"
    return match.group(1)


@pytest.fixture
def signed_layout(fixture_layout: Path, tmp_path: Path, rekor: InProcessLog, monkeypatch: pytest.MonkeyPatch) -> str:
    """``image-layout`` (tag ``app``) signed with the key of ``cosign.pub``, logged in the log of ``log.pub``; the
    working directory is the one holding them, as the example assumes. Returns the image's digest."""
    shutil.copytree(fixture_layout, tmp_path / "image-layout")
    pair = generate_key_pair()
    write_public_key(tmp_path / "cosign.pub", pair.public_key)
    (tmp_path / "log.pub").write_bytes(rekor.directory.public_key_pem())
    with OciLayout(tmp_path / "image-layout") as layout, rekor.client() as log:
        image = layout.resolve("single")
        layout.put_manifest(layout.get_manifest(image), tag="app")
        sign_image(layout, image, pair.private_key, docker_reference="registry.example/app", clock=fixed_clock,
                   log=log)
    monkeypatch.chdir(tmp_path)
    return str(image.digest)


def test_the_example_verifies_the_signed_image(signed_layout: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(example(), str(API_PAGE), "exec"), {"__name__": "docs_api_example"})
    assert capsys.readouterr().out == f"True {signed_layout} []\n"


def test_the_example_says_why_with_another_key(signed_layout: str, capsys: pytest.CaptureFixture[str]) -> None:
    write_public_key("cosign.pub", generate_key_pair().public_key)  # the example's key no longer made the signature
    exec(compile(example(), str(API_PAGE), "exec"), {"__name__": "docs_api_example"})
    out = capsys.readouterr().out
    assert out.startswith(f"False {signed_layout} [")
    assert "expected a signature over the payload by the given key" in out
