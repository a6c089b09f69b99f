"""``signing.keyless``'s own parts: the identity token's checks (each refusal names its claim) and the signing
config it builds from flags. The Sigstore protocol itself runs against real services in
``tests/integration/test_keyless.py``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from supplychain.errors import ExitCode
from supplychain.signing.keyless import (
    IdentityTokenError,
    KeylessConfigError,
    check_identity_token,
    keyless_config,
)

KEY = ec.generate_private_key(ec.SECP256R1())  # TEST-ONLY


def token(**claims: object) -> str:
    now = int(time.time())
    body: dict[str, object] = {"iss": "https://issuer.example.test", "sub": "alice", "aud": "sigstore", "iat": now,
                               "exp": now + 300}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, KEY, algorithm="ES256")


def test_a_good_token_passes_and_keeps_its_claims():
    claims = check_identity_token(token(email="alice@example.test", aud=["other", "sigstore"]))
    assert claims["sub"] == "alice" and claims["email"] == "alice@example.test"


@pytest.mark.parametrize(("claims", "message"), [
    ({"exp": int(time.time()) - 60}, "the identity token expired at"),
    ({"aud": "another"}, "the identity token is for audience 'another', not 'sigstore'"),
    ({"aud": None}, "the identity token is for audience None"),
    ({"sub": None}, "the identity token has no subject"),
    ({"sub": None, "email": "alice@example.test"}, "the identity token has no sub claim"),
    ({"iss": None}, "the identity token has no issuer"),
    ({"exp": None}, "the identity token has no expiry"),
    ({"nbf": int(time.time()) + 600}, "the identity token is not valid yet"),
])
def test_bad_tokens_are_refused_with_their_reason(claims: dict[str, object], message: str):
    with pytest.raises(IdentityTokenError) as caught:
        check_identity_token(token(**claims))
    assert caught.value.message.startswith(message)
    assert caught.value.hint and caught.value.exit_code == ExitCode.AUTH


def test_not_a_jwt():
    with pytest.raises(IdentityTokenError, match="not a JWT"):
        check_identity_token("not-a-token")


def test_flags_replace_the_signing_config_services():
    config = keyless_config(fulcio_url="http://127.0.0.1:1/", rekor_url="http://127.0.0.1:2",
                            timestamp_url="http://127.0.0.1:3/api/v1/timestamp", oidc_issuer="http://127.0.0.1:4")
    document = json.loads(config.signing_config)
    assert [s["url"] for s in document["caUrls"]] == ["http://127.0.0.1:1"]
    assert config.rekor_url == "http://127.0.0.1:2" and config.oidc_url == "http://127.0.0.1:4"
    assert config.has_timestamp_authority
    assert config.source == "Sigstore production"
    production = json.loads(keyless_config().signing_config)
    assert production["caUrls"][0]["url"] == "https://fulcio.sigstore.dev"


def test_a_bad_url_or_signing_config_is_refused(tmp_path: Path):
    with pytest.raises(KeylessConfigError, match="is not an http"):
        keyless_config(fulcio_url="fulcio.example.test")
    other = tmp_path / "signing_config.json"
    other.write_text(json.dumps({"mediaType": "application/vnd.dev.sigstore.signingconfig.v0.1+json"}))
    with pytest.raises(KeylessConfigError, match=r"is not a SigningConfig v0\.2"):
        keyless_config(signing_config=other)


def test_staging_is_sigstores_staging_instance():
    config = keyless_config(instance="staging")
    document = json.loads(config.signing_config)
    assert config.source == "Sigstore staging"
    assert [s["url"] for s in document["caUrls"]] == ["https://fulcio.sigstage.dev"]
    assert all("sigstage.dev" in s["url"] for s in document["rekorTlogUrls"])
    assert b"sigstage" not in keyless_config().signing_config  # production names none of staging's services
