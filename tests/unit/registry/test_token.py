"""The distribution token protocol on its own (``registry.token``): scopes, the cache's early refresh, the two
request forms of token.md and oauth.md, and the strict reading of answers. The flow around it, with the
credentials rules, is tested in ``test_auth_flow.py``."""

from __future__ import annotations

import httpx
import pytest

from supplychain.errors import ExitCode
from supplychain.registry.token import (
    CLIENT_ID,
    Token,
    TokenCache,
    TokenServiceError,
    covers,
    parse_scope,
    parse_token_answer,
    token_request,
)

REALM = httpx.URL("https://auth.example.com/token")


def test_a_scope_name_may_hold_colons_and_star_covers_every_action():
    assert parse_scope("repository:localhost:5000/app:pull,push") == (
        "repository", "localhost:5000/app", frozenset({"pull", "push"}))
    assert parse_scope("repository") is None and parse_scope("repository:pull") is None
    needed = ("repository", "localhost:5000/app", frozenset({"pull", "push"}))
    assert covers(frozenset({"repository:localhost:5000/app:*"}), needed)
    assert not covers(frozenset({"repository:localhost:5000/app:pull"}), needed)
    assert not covers(frozenset({"repository:localhost:5000/other:pull,push"}), needed)


@pytest.mark.parametrize(("lifetime", "early"), [(60.0, 10.0), (8.0, 2.0)])
def test_a_cached_token_is_refreshed_early_a_quarter_of_short_lifetimes(lifetime: float, early: float):
    cache = TokenCache()
    scopes = frozenset({"repository:app:pull"})
    cache.put(scopes, "tok", started=100.0, lifetime=lifetime)
    assert cache.valid(scopes, 100.0 + lifetime - early - 0.01) == "tok"
    assert cache.valid(scopes, 100.0 + lifetime - early) is None
    assert "tok" not in repr(Token("tok", 1.0))
    cache.forget("tok")
    assert cache.valid(scopes, 100.0) is None


def test_the_get_form_repeats_scope_and_carries_basic_the_refresh_form_posts_without_it():
    get = token_request(REALM, "registry.example.com", ["repository:a:pull", "repository:b:pull"],
                        user_agent="ua/1", refresh_token=None, account="alice", authorization="Basic eA==")
    assert get.method == "GET" and get.headers["Authorization"] == "Basic eA==" and get.headers["User-Agent"] == "ua/1"
    assert get.url.params.get_list("scope") == ["repository:a:pull", "repository:b:pull"]
    assert get.url.params["account"] == "alice" and get.url.params["service"] == "registry.example.com"
    post = token_request(REALM, "registry.example.com", ["repository:a:pull", "repository:b:pull"],
                         user_agent=None, refresh_token="TEST-ONLY-refresh", account="alice",
                         authorization="Basic eA==")
    assert post.method == "POST" and "Authorization" not in post.headers and not post.url.query
    form = dict(pair.split("=", 1) for pair in post.read().decode().split("&"))
    assert form == {"grant_type": "refresh_token", "refresh_token": "TEST-ONLY-refresh", "client_id": CLIENT_ID,
                    "service": "registry.example.com", "scope": "repository%3Aa%3Apull+repository%3Ab%3Apull"}


def test_token_wins_over_access_token_and_expires_in_defaults_to_sixty_seconds():
    answer = parse_token_answer(httpx.Response(200, json={"access_token": "second", "token": "first"}), REALM)
    assert (answer.token, answer.lifetime, answer.refresh_token) == ("first", 60.0, None)
    assert "first" not in repr(answer)


@pytest.mark.parametrize("body", [b'{"token":"a","token":"b"}', b'{"token":"a","expires_in":' + b"9" * 30 + b"}"])
def test_an_answer_that_is_not_strict_json_is_a_token_service_error(body: bytes):
    with pytest.raises(TokenServiceError, match="not JSON") as info:
        parse_token_answer(httpx.Response(200, content=body), REALM)
    assert info.value.exit_code == ExitCode.UNAVAILABLE and info.value.hint
