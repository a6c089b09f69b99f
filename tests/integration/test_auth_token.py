"""``RegistryAuth`` against the real CNCF registry with ``auth: token`` and the TEST-ONLY JWT token service.

The registry validates every token itself (ES256 signature chained to ``rootcertbundle``, issuer, audience,
expiry, access claims), so these tests prove that the tokens our flow obtains are the ones a real registry
accepts, and that it refuses what the token service did not grant.
"""

from __future__ import annotations

import re

import httpx
import pytest

from supplychain.errors import AuthError
from supplychain.registry.auth import RegistryAuth
from supplychain.registry.credentials import Credentials
from tests.integration.test_auth_basic import pull_image, push_image
from tests.support.registry import RegistryProcess
from tests.support.token_issuer import (
    PUSH_PASSWORD,
    PUSH_USER,
    READ_PASSWORD,
    READ_USER,
    TokenIssuer,
)

pytestmark = pytest.mark.integration

PUSHER = Credentials(PUSH_USER, PUSH_PASSWORD)
READER = Credentials(READ_USER, READ_PASSWORD)


def auth_for(registry: RegistryProcess, credentials: Credentials | None) -> RegistryAuth:
    return RegistryAuth(registry.host, credentials, plain_http=True)


def test_tokens_from_the_flow_push_and_pull_on_the_real_registry(
    token_registry: RegistryProcess, token_issuer: TokenIssuer
):
    with httpx.Client(follow_redirects=False) as client:
        pushed, layer = push_image(client, token_registry, "team/app", "v1", auth_for(token_registry, PUSHER))
        assert pull_image(client, token_registry, "team/app", "v1", auth_for(token_registry, READER)) == (
            pushed, layer)
    subjects = {record.subject for record in token_issuer.records if record.status == 200}
    assert {PUSH_USER, READ_USER} <= subjects


def test_read_only_user_is_denied_push(token_registry: RegistryProcess, token_issuer: TokenIssuer):
    with httpx.Client() as client, pytest.raises(AuthError) as info:
        push_image(client, token_registry, "team/denied", "v1", auth_for(token_registry, READER))
    assert info.value.message.startswith("denied: requested access to the resource is denied")
    # distribution builds the scope from a Go map: the actions come in either order
    assert re.search(r"repository:team/denied:(pull,push|push,pull)", info.value.message)
    assert "permission" in info.value.hint


def test_wrong_password_is_refused_by_the_token_service(token_registry: RegistryProcess):
    with httpx.Client() as client, pytest.raises(AuthError) as info:
        client.get(f"{token_registry.url}/v2/", auth=auth_for(token_registry, Credentials(PUSH_USER, "wrong")))
    assert "unauthorized: authentication required" in info.value.message
    assert "incorrect username or password" in info.value.message


def test_tokens_are_cached_per_scope(token_registry: RegistryProcess, token_issuer: TokenIssuer):
    with httpx.Client() as client:
        push_image(client, token_registry, "cache/one", "v1", auth_for(token_registry, PUSHER))
        token_issuer.clear()
        auth = auth_for(token_registry, READER)
        for _ in range(3):  # manifest + blob, three times over: one token
            pull_image(client, token_registry, "cache/one", "v1", auth)
        assert token_issuer.count() == 1
        assert token_issuer.count(scopes=("repository:cache/one:pull",)) == 1
        # Another repository is another scope.
        push_image(client, token_registry, "cache/two", "v1", auth_for(token_registry, PUSHER))
        token_issuer.clear()
        pull_image(client, token_registry, "cache/two", "v1", auth)
        assert token_issuer.count() == 1
        # A push (two blobs, the manifest) and a pull on one auth object: one pull,push token covers all.
        pusher = auth_for(token_registry, PUSHER)
        token_issuer.clear()
        push_image(client, token_registry, "cache/three", "v1", pusher)
        pull_image(client, token_registry, "cache/three", "v1", pusher)
        assert token_issuer.count() == 1
        assert token_issuer.count(scopes=("repository:cache/three:pull,push",)) == 1


def test_anonymous_tokens(token_registry: RegistryProcess):
    with httpx.Client() as client:
        pushed, _ = push_image(client, token_registry, "public/tool", "v1", auth_for(token_registry, PUSHER))
        anonymous = auth_for(token_registry, None)
        assert pull_image(client, token_registry, "public/tool", "v1", anonymous)[0] == pushed
        push_image(client, token_registry, "private/tool", "v1", auth_for(token_registry, PUSHER))
        with pytest.raises(AuthError) as info:
            pull_image(client, token_registry, "private/tool", "v1", anonymous)
    assert "denied" in info.value.message
    assert f"supplychain login {token_registry.host}" in info.value.hint


def test_identity_token_uses_the_oauth2_post_and_the_registry_accepts_the_access_token(
    token_registry: RegistryProcess, token_issuer: TokenIssuer
):
    refresh = token_issuer.issue_refresh_token(PUSH_USER)
    auth = auth_for(token_registry, Credentials(identity_token=refresh))
    token_issuer.clear()
    with httpx.Client() as client:
        pushed, layer = push_image(client, token_registry, "oauth/app", "v1", auth)
        assert pull_image(client, token_registry, "oauth/app", "v1", auth) == (pushed, layer)
    grants = {(record.method, record.grant) for record in token_issuer.records}
    assert grants == {("POST", "refresh_token")}
