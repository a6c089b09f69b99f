"""Concurrent legacy signing on an OCI layout: every signature survives, or the signer fails; never a silent loss.

The same flows run against the real registry in ``tests/integration/test_sign_registry.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import ExitCode, RegistryError
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.model import Manifest
from supplychain.oci.tagwriter import RACING_READ_ATTEMPTS as READ_ATTEMPTS
from supplychain.signing import SignatureWriteError, sign_image
from supplychain.signing.legacy import SIGNATURE_ANNOTATION, encode_signature
from supplychain.signing.payload import parse_payload
from supplychain.signing.writer import APPEND_ATTEMPTS, is_listed
from supplychain.verify import VerifyPolicy, verify_image
from tests.support.concurrency import LateRivalStore, RivalStore, no_sleep, run_together
from tests.support.signatures import new_key

NAME = "registry.example/team/app"
WRITERS = 6


def sig_manifest(layout: OciLayout, tag: str) -> Manifest:
    found = layout.get_manifest(tag)
    assert isinstance(found, Manifest)
    return found


def test_concurrent_signers_keep_every_signature(fixture_layout_copy: Path):
    pair = new_key()
    subject = OciLayout(fixture_layout_copy).resolve("single")

    def signer(n: int):  # one layout object per writer, as separate processes would have
        return lambda: sign_image(OciLayout(fixture_layout_copy), subject, pair.private_key, docker_reference=NAME,
                                  annotations={"n": str(n)})

    results = run_together([signer(n) for n in range(1, WRITERS + 1)])

    layout = OciLayout(fixture_layout_copy)
    layers = sig_manifest(layout, attachment_tag(subject.digest, AttachmentKind.SIGNATURE)).layers
    assert sorted(parse_payload(layout.get_blob(la)).optional["n"] for la in layers) == [  # type: ignore[index]
        str(n) for n in range(1, WRITERS + 1)]
    for result in results:  # each reported signature is really there
        image = result.images[0]
        assert not image.already_present
        assert any(la.annotations[SIGNATURE_ANNOTATION] == encode_signature(image.signature) for la in layers)
    for n in range(1, WRITERS + 1):
        policy = VerifyPolicy((pair.public_key,), {"n": str(n)}, insecure_ignore_tlog=True)
        assert verify_image(layout, subject.digest, policy).verified


def sign_through(store: RivalStore, layout: OciLayout) -> tuple[Any, tuple[Any, ...], list[float]]:
    """Sign ``layout``'s single image through ``store`` (a rival's proxy of it), sleeps recorded: the signed image,
    the ``.sig`` layers the layout holds afterwards, and the pauses."""
    pauses: list[float] = []
    result = sign_image(store, layout.resolve("single"), new_key().private_key, docker_reference=NAME,
                        sleep=pauses.append)
    image = result.images[0]
    return image, sig_manifest(layout, image.tag or "").layers, pauses


def test_an_overwritten_signature_is_appended_again(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    store = RivalStore(layout, overwrites=2)
    image, layers, pauses = sign_through(store, layout)
    assert store.puts == 3  # lost twice, kept the third time
    assert all(is_listed(layers, rival) for rival in store.rival_layers)  # the rivals' signatures are kept too
    assert [la.annotations[SIGNATURE_ANNOTATION] for la in layers][-1] == encode_signature(image.signature)
    assert image.artifact == sig_manifest(layout, image.tag or "").descriptor()
    assert len(pauses) == 2  # one backoff after each race detected; none after the put that held


def test_a_rival_landing_after_the_first_confirming_read_is_caught_by_the_second(fixture_layout_copy: Path):
    """A rival who read before our put and puts just after our confirming read (seen: signers on two machines, or
    with two lock directories, started together): on a store whose lock does not bind every writer (a registry)
    the put is confirmed again ``settle`` later, so the loss is seen and the signature appended again."""
    from supplychain.oci.tagwriter import SETTLE_CAP, SETTLE_FLOOR

    layout = OciLayout(fixture_layout_copy)
    store = LateRivalStore(layout, overwrites=1)
    image, layers, pauses = sign_through(store, layout)
    assert store.puts == 2 and len(store.rival_layers) == 1
    assert is_listed(layers, store.rival_layers[0])
    assert [la.annotations[SIGNATURE_ANNOTATION] for la in layers][-1] == encode_signature(image.signature)
    settle_first, _backoff, settle_again = pauses  # confirm, wait, confirm: lost; back off; put, confirm, wait
    assert all(SETTLE_FLOOR <= pause <= SETTLE_CAP for pause in (settle_first, settle_again))


def test_on_a_layout_one_confirming_read_is_enough(fixture_layout_copy: Path):
    """A layout's flock binds every writer of it: no second confirming read, no wait on the happy path."""
    layout = OciLayout(fixture_layout_copy)
    pauses: list[float] = []
    sign_image(layout, layout.resolve("single"), new_key().private_key, docker_reference=NAME, sleep=pauses.append)
    assert pauses == []


def test_a_signature_that_keeps_being_lost_is_an_error(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    store = RivalStore(layout, overwrites=10**6)
    with pytest.raises(SignatureWriteError, match="the signature was not stored: other writers kept overwriting") as e:
        sign_image(store, subject, new_key().private_key, docker_reference=NAME, sleep=no_sleep)
    assert e.value.exit_code == ExitCode.UNAVAILABLE and "run the command again" in e.value.hint
    assert store.puts == APPEND_ATTEMPTS


def test_an_identical_layer_already_stored_is_not_written_again(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    pair = new_key("ed25519")  # deterministic: signing twice makes the same layer
    first = sign_image(layout, subject, pair.private_key, docker_reference=NAME, sleep=no_sleep)
    store = RivalStore(layout, overwrites=0)
    again = sign_image(store, subject, pair.private_key, docker_reference=NAME, sleep=no_sleep)
    assert again.images[0].already_present and store.puts == 0
    assert again.images[0].artifact == first.images[0].artifact


class FlakyRegistry:
    """A store whose first ``reads`` reads of a ``.sig`` tag and first ``puts`` manifest puts answer as
    distribution does when they race a write of the same tag (HTTP 500, "invalid checksum digest format")."""

    def __init__(self, inner: OciLayout, *, reads: int = 0, puts: int = 0) -> None:
        self.inner = inner
        self.reads = reads
        self.puts = puts

    def get_manifest(self, ref: Any) -> Any:
        if isinstance(ref, str) and ref.endswith(".sig") and self.reads > 0:
            self.reads -= 1
            raise RegistryError("manifest x: registry failed with HTTP 500 (UNKNOWN: unknown error)")
        return self.inner.get_manifest(ref)

    def put_manifest(self, manifest: Any, *, tag: str | None = None) -> Any:
        if self.puts > 0:
            self.puts -= 1
            raise RegistryError("manifest x: registry failed with HTTP 500 (UNKNOWN: unknown error)")
        return self.inner.put_manifest(manifest, tag=tag)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


def test_reads_and_writes_racing_other_writes_are_tried_again(fixture_layout_copy: Path):
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    store = FlakyRegistry(layout, reads=READ_ATTEMPTS - 1, puts=APPEND_ATTEMPTS - 1)
    result = sign_image(store, subject, new_key().private_key, docker_reference=NAME,  # type: ignore[arg-type]
                        sleep=no_sleep)
    assert store.reads == 0 and store.puts == 0
    assert len(sig_manifest(layout, result.images[0].tag or "").layers) == 1

    # A registry that keeps failing: its own error, unchanged (not reported as contention).
    for broken in (FlakyRegistry(layout, reads=READ_ATTEMPTS), FlakyRegistry(layout, puts=APPEND_ATTEMPTS)):
        with pytest.raises(RegistryError, match="HTTP 500"):
            sign_image(broken, subject, new_key().private_key, docker_reference=NAME,  # type: ignore[arg-type]
                       sleep=no_sleep)
    assert len(sig_manifest(layout, result.images[0].tag or "").layers) == 1


def test_a_signature_without_a_race_takes_no_sleep(fixture_layout_copy: Path):
    """The happy path: read, build, read, put, read; no pause anywhere (issue 10, item 4)."""
    layout = OciLayout(fixture_layout_copy)
    subject = layout.resolve("single")
    store = RivalStore(layout, overwrites=0)
    pauses: list[float] = []
    sign_image(store, subject, new_key().private_key, docker_reference=NAME, sleep=pauses.append)
    sign_image(store, subject, new_key().private_key, docker_reference=NAME, sleep=pauses.append)
    assert store.puts == 2 and pauses == []
