"""The library ``Verifier`` (issue 9, item 4): it owns the trust material and the log client it opens, it streams
results in the order of the targets while it consumes them lazily (an audit of thousands of images reports as it
goes), an image it cannot answer for is that image's result, and its set-up errors name no command-line flag."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.keys import generate_key_pair, write_public_key
from supplychain.layout import OciLayout
from supplychain.signing import sign_image
from supplychain.trust import TrustedRoot
from supplychain.trust.error import NoLogKeyError
from supplychain.verify import (
    TlogPolicy,
    Verifier,
    VerifyPolicy,
    VerifyRequest,
    VerifySetupError,
    VerifyTarget,
    build_verify_policy,
)
from tests.support.fixture import fixture_path
from tests.support.signatures import fixed_clock, run_cli
from tests.support.tlog import InProcessLog


@pytest.fixture
def signed(fixture_layout: Path, tmp_path: Path, rekor: InProcessLog) -> tuple[Path, str, VerifyPolicy]:
    """A layout whose image ``app`` is signed and logged in ``rekor``; the policy that verifies it offline."""
    layout_path = tmp_path / "layout"
    shutil.copytree(fixture_layout, layout_path)
    pair = generate_key_pair()
    write_public_key(tmp_path / "cosign.pub", pair.public_key)
    with OciLayout(layout_path) as layout, rekor.client() as log:
        image = layout.resolve("single")
        layout.put_manifest(layout.get_manifest(image), tag="app")
        sign_image(layout, image, pair.private_key, docker_reference="registry.example/app", clock=fixed_clock,
                   log=log)
    return layout_path, str(image.digest), VerifyPolicy((pair.public_key,), tlog=TlogPolicy(rekor.keyring))


def _target(layout: Path, reference: str, identifier: str) -> VerifyTarget:
    return VerifyTarget(reference, identifier, lambda: OciLayout(layout))


def test_results_stream_in_order_while_the_targets_are_pulled_lazily(signed: tuple[Path, str, VerifyPolicy]) -> None:
    layout, digest, policy = signed
    pulled: list[int] = []

    def targets() -> Iterator[VerifyTarget]:
        for number in range(50):
            pulled.append(number)
            # every seventh target names a tag the layout does not have: that target's error, not the run's
            yield _target(layout, f"t{number}", "no-such-tag" if number % 7 == 3 else "app")

    with Verifier(TrustedRoot.production()) as verifier:
        results = verifier.verify_images(targets(), policy, max_workers=2)
        first = next(results)
        pulled_at_first = len(pulled)
        rest = list(results)
    assert pulled_at_first < 50, "every target was pulled before the first result was given"
    answered = [first, *rest]
    assert [r.reference for r in answered] == [f"t{n}" for n in range(50)]
    for number, result in enumerate(answered):
        if number % 7 == 3:
            assert result.error is not None and not result.verified, result
            assert "no-such-tag" in result.error.message
        else:
            assert result.error is None and result.verified, result.reasons()
            assert str(result.digest) == digest


def test_a_sequential_run_answers_the_same(signed: tuple[Path, str, VerifyPolicy]) -> None:
    layout, _, policy = signed
    with Verifier() as verifier:
        results = list(verifier.verify_images([_target(layout, "a", "app"), _target(layout, "b", "nope")], policy,
                                              max_workers=1))
    assert [(r.reference, r.verified, r.error is None) for r in results] == [("a", True, True), ("b", False, False)]


def test_the_verifier_closes_the_log_client_it_opened_and_not_one_it_was_given(
        signed: tuple[Path, str, VerifyPolicy], rekor: InProcessLog) -> None:
    layout, _, offline = signed
    online = VerifyPolicy(offline.keys, tlog=TlogPolicy(rekor.keyring, online_url=rekor.url))
    with Verifier(settings=Settings()) as verifier:
        (result,) = verifier.verify_images([_target(layout, "a", "app")], online)
        opened = verifier._online  # the client the verifier opened for online_url
        assert opened is not None and not opened._client.is_closed
    assert result.verified, result.reasons()
    assert "online" in " ".join(outcome.detail for s in result.signatures for outcome in s.checks)
    assert opened._client.is_closed, "the verifier left the client it opened open"

    given = rekor.client()
    with Verifier(online=given) as verifier:
        (result,) = verifier.verify_images([_target(layout, "a", "app")], online)
    assert result.verified, result.reasons()
    assert not given._client.is_closed, "the verifier closed a client it did not open"
    given.close()


def test_production_is_sigstores_production_root() -> None:
    """``Verifier.production()`` trusts exactly the Rekor logs and Fulcio CAs of Sigstore's production root (the
    copy sigstore-python ships, checked in as a fixture)."""
    document = json.loads(fixture_path("vectors", "tlog", "sigstore-python", "trusted_root.production.json")
                          .read_text())
    expected_logs = {log["logId"]["keyId"] for log in document["tlogs"]}
    root = Verifier.production().trusted_root
    assert {base64.b64encode(log.key.log_id).decode() for log in root.tlog_keyring()} == expected_logs
    assert {ca.uri for ca in root.certificate_authorities} == {ca["uri"] for ca in document["certificateAuthorities"]}
    staging = Verifier.staging().trusted_root
    assert {log.key.log_id for log in staging.tlog_keyring()}.isdisjoint(
        {log.key.log_id for log in root.tlog_keyring()})


@pytest.mark.parametrize(
    ("request_", "problem"),
    [
        (VerifyRequest(), "no-signer"),
        (VerifyRequest(keys=("cosign.pub",), identity="a@example.com", issuer="https://issuer.example"),
         "both-signers"),
        (VerifyRequest(identity="a@example.com"), "no-issuer"),
        (VerifyRequest(issuer="https://issuer.example"), "no-identity"),
        (VerifyRequest(identity_regexp="(", issuer="https://issuer.example"), "bad-pattern"),
        (VerifyRequest(keys=("cosign.pub",), tlog_online=True, insecure_ignore_tlog=True), "online-and-ignored"),
    ],
)
def test_set_up_errors_say_what_is_missing_and_name_no_flag(request_: VerifyRequest, problem: str,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_public_key(tmp_path / "cosign.pub", generate_key_pair().public_key)
    with pytest.raises(VerifySetupError) as caught:
        build_verify_policy(request_)
    assert caught.value.problem == problem
    assert "--" not in caught.value.message and "--" not in caught.value.hint, caught.value


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--certificate-identity", "a@example.com"], "--certificate-oidc-issuer"),
        ([], "--key"),
        (["--key", "cosign.pub", "--tlog-online", "--insecure-ignore-tlog"], "--insecure-ignore-tlog"),
    ],
)
def test_the_cli_names_its_flags_for_the_same_problems(args: list[str], flag: str, tmp_path: Path) -> None:
    result = run_cli(["verify", f"oci:{tmp_path}/layout:app", *args])
    assert result.code == 2, result
    (error, hint) = result.stderr.strip().splitlines()
    assert error.startswith("error: ") and flag in error, result.stderr
    assert hint.startswith("hint: "), result.stderr
    assert "Traceback" not in result.stderr


def test_the_default_trust_defers_sigstores_root(tmp_path: Path) -> None:
    # verify with no log flags trusts the local default log's key and Sigstore's production root; the root is read
    # only for an entry of another log (LogKeyring.deferred), and the set is the same as both read up front.
    write_public_key(tmp_path / "cosign.pub", generate_key_pair().public_key)
    log = InProcessLog(tmp_path / "log")
    try:
        request = VerifyRequest(keys=(str(tmp_path / "cosign.pub"),), default_log_keys=log.keyring)
        keyring = build_verify_policy(request).tlog.keyring
        assert keyring is not None and keyring.deferred is not None
        assert keyring.logs == log.keyring.logs
        ids = sorted(entry.key.log_id for entry in keyring)
        assert ids == sorted(entry.key.log_id for entry in (*TrustedRoot.production().tlog_keyring(), *log.keyring))
        # A log named by URL without a key is still refused when the policy is built, not at the first entry.
        with pytest.raises(NoLogKeyError):
            build_verify_policy(VerifyRequest(keys=request.keys, default_log_keys=log.keyring,
                                              log_url="https://rekor.example"))
    finally:
        log.close()
