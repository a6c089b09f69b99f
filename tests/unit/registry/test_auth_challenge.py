"""RFC 7235 ``WWW-Authenticate`` parsing: several challenges, quoted strings, case, token68, malformed input."""

from __future__ import annotations

import pytest

from supplychain.errors import AuthError
from supplychain.registry.challenge import Challenge, MalformedChallengeError, parse_challenges


def test_distribution_bearer_challenge():
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/alpine:pull"'
    )
    assert parse_challenges([header]) == [
        Challenge(
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/alpine:pull",
            },
        )
    ]


def test_scheme_and_parameter_names_are_case_insensitive_values_are_not():
    (challenge,) = parse_challenges(['BEARER Realm="https://Auth.example/Token", SERVICE=Reg'])
    assert challenge.scheme == "bearer"
    assert challenge.param("realm") == "https://Auth.example/Token"
    assert challenge.param("Service") == "Reg"


def test_several_challenges_in_one_header_and_across_headers():
    challenges = parse_challenges([
        'Basic realm="basic realm", Bearer realm="https://a/t",service="s",scope="repository:x:pull,push"',
        'Negotiate',
    ])
    assert [c.scheme for c in challenges] == ["basic", "bearer", "negotiate"]
    assert challenges[0].params == {"realm": "basic realm"}
    # The comma inside the quoted scope does not split the challenge.
    assert challenges[1].param("scope") == "repository:x:pull,push"


def test_quoted_pairs_are_unescaped():
    (challenge,) = parse_challenges([r'Basic realm="a \"quoted\" \\ realm, with comma"'])
    assert challenge.param("realm") == 'a "quoted" \\ realm, with comma'


def test_token68_and_bare_schemes():
    challenges = parse_challenges(["Negotiate abc+/==, Basic, Bearer realm=x"])
    assert challenges == [
        Challenge("negotiate", {}, "abc+/=="),
        Challenge("basic", {}),
        Challenge("bearer", {"realm": "x"}),
    ]


def test_a_lone_name_with_equals_signs_is_a_token68():
    # RFC 7235 section 2.1: token68 may end in "="; the flow then finds no realm (tested there).
    assert parse_challenges(["Bearer realm="]) == [Challenge("bearer", {}, "realm=")]


def test_empty_list_elements_and_whitespace_are_tolerated():
    challenges = parse_challenges([' , Basic realm="r" ,, Bearer  realm = "u" , '])
    assert challenges == [Challenge("basic", {"realm": "r"}), Challenge("bearer", {"realm": "u"})]


@pytest.mark.parametrize(
    "header",
    [
        "",
        '  ,  ',
        'Bearer realm="unterminated',
        'Bearer realm=, service="x"',  # no value
        'Bearer realm="a", realm="b"',  # a second realm must not hide behind the first
        '="x"',
        "Bearer@ realm=x",
        'Bearer realm="a" junk',
        "Bearer realm=https://unquoted/url",  # ':' and '/' are not token characters
    ],
)
def test_malformed_headers_are_refused(header: str):
    with pytest.raises(MalformedChallengeError) as info:
        parse_challenges([header])
    assert isinstance(info.value, AuthError)
    assert "malformed WWW-Authenticate" in info.value.message
    assert info.value.hint
