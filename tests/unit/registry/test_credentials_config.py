"""The docker config file: reading ``auths``/``credHelpers``/``credsStore``, writing it back safely.

Credential helpers are real programs: a small ``docker-credential-test`` script speaking the
docker-credential-helpers protocol is put on ``PATH`` (environment, not patched code).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from supplychain.config import Settings
from supplychain.errors import ConfigurationError, ExitCode
from supplychain.registry.credentials import (
    DOCKER_HUB_SERVER,
    Credentials,
    credential_location,
    find_credentials,
    registry_host,
    remove_credentials,
    save_credentials,
    server_address,
)

SECRET = "TEST-ONLY-password"

HELPER = """#!{python}
# TEST-ONLY docker-credential-helpers protocol implementation backed by a JSON file.
import json, os, sys
store_path = os.environ["TEST_HELPER_STORE"]
log_path = os.environ["TEST_HELPER_LOG"]
action = sys.argv[1]
data = sys.stdin.read()
with open(log_path, "a") as log:
    log.write(json.dumps([action, data]) + "\\n")
if os.environ.get("TEST_HELPER_MODE") == "fail":
    print("the keyring is locked", file=sys.stderr)
    sys.exit(1)
if os.environ.get("TEST_HELPER_MODE") == "garbage":
    print("not json, maybe " + "a secret")
    sys.exit(0)
store = json.load(open(store_path)) if os.path.exists(store_path) else {{}}
if action == "get":
    if data not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    print(json.dumps({{"ServerURL": data, **store[data]}}))
elif action == "store":
    entry = json.loads(data)
    store[entry["ServerURL"]] = {{"Username": entry["Username"], "Secret": entry["Secret"]}}
    json.dump(store, open(store_path, "w"))
elif action == "erase":
    if data not in store:
        print("credentials not found in native keychain")
        sys.exit(1)
    del store[data]
    json.dump(store, open(store_path, "w"))
"""


class Helper:
    """The ``docker-credential-test`` program, its backing store and its call log."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        bin_dir = directory / "bin"
        bin_dir.mkdir()
        program = bin_dir / "docker-credential-test"
        program.write_text(HELPER.format(python=sys.executable))
        program.chmod(0o755)
        self.store = directory / "helper-store.json"
        self.log = directory / "helper-log.jsonl"
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        monkeypatch.setenv("TEST_HELPER_STORE", str(self.store))
        monkeypatch.setenv("TEST_HELPER_LOG", str(self.log))
        monkeypatch.delenv("TEST_HELPER_MODE", raising=False)

    def put(self, server: str, username: str, secret: str) -> None:
        data = json.loads(self.store.read_text()) if self.store.exists() else {}
        data[server] = {"Username": username, "Secret": secret}
        self.store.write_text(json.dumps(data))

    def contents(self) -> dict[str, dict[str, str]]:
        return json.loads(self.store.read_text()) if self.store.exists() else {}

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(docker_config_dir=tmp_path / "docker")


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Helper:
    return Helper(tmp_path, monkeypatch)


def write_config(settings: Settings, document: object) -> Path:
    settings.docker_config_dir.mkdir(parents=True, exist_ok=True)
    path = settings.docker_config_dir / "config.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def auth_field(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


# -- names ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "host", "server"),
    [
        ("docker.io", "docker.io", DOCKER_HUB_SERVER),
        ("index.docker.io", "docker.io", DOCKER_HUB_SERVER),
        ("registry-1.docker.io", "docker.io", DOCKER_HUB_SERVER),
        ("https://index.docker.io/v1/", "docker.io", DOCKER_HUB_SERVER),
        ("Registry.Example.com:5000", "registry.example.com:5000", "registry.example.com:5000"),
        ("http://localhost:5000/v2/", "localhost:5000", "localhost:5000"),
        ("[::1]:5000", "[::1]:5000", "[::1]:5000"),
    ],
)
def test_registry_names_normalise_like_docker(given: str, host: str, server: str):
    assert registry_host(given) == host
    assert server_address(given) == server


# -- reading ----------------------------------------------------------------------------------------------------


def test_no_config_file_means_no_credentials(settings: Settings):
    assert find_credentials("registry.example.com", settings) is None


@pytest.mark.parametrize(
    "key", ["registry.example.com:5000", "https://registry.example.com:5000", "http://registry.example.com:5000/v2/"]
)
def test_auths_keys_in_any_spelling(settings: Settings, key: str):
    write_config(settings, {"auths": {key: {"auth": auth_field("alice", SECRET)}}})
    assert find_credentials("registry.example.com:5000", settings) == Credentials("alice", SECRET)
    assert find_credentials("registry.example.com", settings) is None  # another port is another registry


@pytest.mark.parametrize("name", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hub_credentials_live_under_the_index_url(settings: Settings, name: str):
    write_config(settings, {"auths": {DOCKER_HUB_SERVER: {"auth": auth_field("hubuser", SECRET)}}})
    assert find_credentials(name, settings) == Credentials("hubuser", SECRET)


def test_password_with_colons_and_username_password_fields(settings: Settings):
    write_config(settings, {"auths": {
        "a.example": {"auth": auth_field("alice", "pa:ss:word")},
        "b.example": {"username": "bob", "password": SECRET},
    }})
    assert find_credentials("a.example", settings) == Credentials("alice", "pa:ss:word")
    assert find_credentials("b.example", settings) == Credentials("bob", SECRET)


def test_identity_token(settings: Settings):
    write_config(settings, {"auths": {"a.example": {"auth": auth_field("alice", ""), "identitytoken": "TEST-ONLY-rt"}}})
    assert find_credentials("a.example", settings) == Credentials("alice", "", "TEST-ONLY-rt")


def test_empty_entries_and_empty_file_mean_no_credentials(settings: Settings):
    write_config(settings, {"auths": {"a.example": {}}})
    assert find_credentials("a.example", settings) is None
    write_config(settings, "  \n")
    assert find_credentials("a.example", settings) is None


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ('{"auths": {', "invalid JSON at line 1 column"),
        ("[]", "not a JSON object"),
        ('{"auths": []}', '"auths" is not an object'),
        ('{"auths": {"a.example": "x"}}', "is not an object"),
        ('{"auths": {"a.example": {"auth": "%%%"}}}', "not base64"),
        ('{"auths": {"a.example": {"auth": "' + base64.b64encode(b"nocolon").decode() + '"}}}', "not base64"),
        ('{"auths": {"a.example": {"username": 5}}}', '"username" of'),
        ('{"credsStore": "../../bin/sh"}', '"credsStore" must name a helper'),
        ('{"credHelpers": ["x"]}', '"credHelpers" is not an object'),
    ],
)
def test_malformed_config_is_a_configuration_error_naming_the_file(settings: Settings, document: str, words: str):
    path = write_config(settings, document)
    with pytest.raises(ConfigurationError) as info:
        find_credentials("a.example", settings)
    assert words in info.value.message
    assert str(path) in info.value.message
    assert str(path) in info.value.hint
    assert info.value.exit_code == ExitCode.INVALID_INPUT


def test_unreadable_config_is_a_configuration_error(settings: Settings):
    settings.docker_config_dir.mkdir(parents=True)
    (settings.docker_config_dir / "config.json").mkdir()  # a directory where the file should be
    with pytest.raises(ConfigurationError, match="cannot read docker config"):
        find_credentials("a.example", settings)


# -- helpers ----------------------------------------------------------------------------------------------------


def test_cred_helpers_win_over_inline_auths(settings: Settings, helper: Helper):
    helper.put("a.example", "helped", SECRET)
    write_config(settings, {"auths": {"a.example": {"auth": auth_field("inline", "old")}},
                            "credHelpers": {"a.example": "test"}})
    assert find_credentials("a.example", settings) == Credentials("helped", SECRET)
    assert helper.calls() == [["get", "a.example"]]


def test_creds_store_serves_every_host_and_hub_by_its_index_url(settings: Settings, helper: Helper):
    helper.put(DOCKER_HUB_SERVER, "hubuser", SECRET)
    write_config(settings, {"credsStore": "test"})
    assert find_credentials("docker.io", settings) == Credentials("hubuser", SECRET)
    assert find_credentials("other.example", settings) is None
    assert helper.calls() == [["get", DOCKER_HUB_SERVER], ["get", "other.example"]]


def test_helper_without_the_credentials_falls_back_to_inline_auths(settings: Settings, helper: Helper):
    write_config(settings, {"credsStore": "test", "auths": {"a.example": {"auth": auth_field("inline", SECRET)}}})
    assert find_credentials("a.example", settings) == Credentials("inline", SECRET)


def test_helper_token_username_means_identity_token(settings: Settings, helper: Helper):
    helper.put("a.example", "<token>", "TEST-ONLY-refresh")
    write_config(settings, {"credHelpers": {"a.example": "test"}})
    assert find_credentials("a.example", settings) == Credentials(identity_token="TEST-ONLY-refresh")


def test_missing_helper_program_is_a_configuration_error(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    path = write_config(settings, {"credsStore": "nonexistent"})
    with pytest.raises(ConfigurationError) as info:
        find_credentials("a.example", settings)
    assert "docker-credential-nonexistent" in info.value.message
    assert "not installed" in info.value.message
    assert "credsStore" in info.value.hint and str(path) in info.value.hint


def test_failing_helper_reports_its_own_message(settings: Settings, helper: Helper,
                                                monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TEST_HELPER_MODE", "fail")
    write_config(settings, {"credHelpers": {"a.example": "test"}})
    with pytest.raises(ConfigurationError) as info:
        find_credentials("a.example", settings)
    assert "docker-credential-test failed to get credentials for a.example: the keyring is locked" in (
        info.value.message)
    assert "credHelpers" in info.value.hint


def test_helper_garbage_is_refused_without_echoing_it(settings: Settings, helper: Helper,
                                                      monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TEST_HELPER_MODE", "garbage")
    write_config(settings, {"credHelpers": {"a.example": "test"}})
    with pytest.raises(ConfigurationError) as info:
        find_credentials("a.example", settings)
    assert "not JSON" in info.value.message
    assert "secret" not in info.value.message


# -- writing ----------------------------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_creates_a_0600_file_docker_can_read(settings: Settings):
    location = save_credentials("registry.example.com:5000", Credentials("alice", SECRET), settings)
    path = settings.docker_config_dir / "config.json"
    assert location.config_path == path and location.helper is None
    assert location.description == str(path)
    assert mode(path) == 0o600
    expected = {"auths": {"registry.example.com:5000": {"auth": auth_field("alice", SECRET)}}}
    assert json.loads(path.read_text()) == expected
    assert "\t" in path.read_text()  # docker's own indentation
    assert find_credentials("registry.example.com:5000", settings) == Credentials("alice", SECRET)
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]  # no temporary file left


def test_save_keeps_every_other_key_and_tightens_the_mode(settings: Settings):
    original = {
        "auths": {"other.example": {"auth": auth_field("bob", "x")}, "a.example": {"auth": "b2xkOm9sZA==",
                                                                                 "email": "old@example.com"}},
        "psFormat": "table {{.ID}}",
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
        "currentContext": "desktop",
        "credHelpers": {"gcr.io": "gcloud"},
    }
    path = write_config(settings, original)
    path.chmod(0o644)
    save_credentials("a.example", Credentials("alice", SECRET), settings)
    saved = json.loads(path.read_text())
    assert mode(path) == 0o600
    assert saved["auths"]["a.example"] == {"auth": auth_field("alice", SECRET)}
    assert saved["auths"]["other.example"] == original["auths"]["other.example"]  # type: ignore[index]
    for key in ("psFormat", "proxies", "currentContext", "credHelpers"):
        assert saved[key] == original[key]
    assert list(saved) == list(original)  # key order kept


def test_save_docker_hub_and_identity_token(settings: Settings):
    save_credentials("docker.io", Credentials("hubuser", "", "TEST-ONLY-rt"), settings)
    saved = json.loads((settings.docker_config_dir / "config.json").read_text())
    assert saved["auths"] == {DOCKER_HUB_SERVER: {"auth": auth_field("hubuser", ""), "identitytoken": "TEST-ONLY-rt"}}


def test_save_through_a_symlink_updates_the_target(settings: Settings, tmp_path: Path):
    target = tmp_path / "dotfiles" / "docker-config.json"
    target.parent.mkdir()
    target.write_text('{"psFormat": "x"}')
    settings.docker_config_dir.mkdir(parents=True)
    link = settings.docker_config_dir / "config.json"
    link.symlink_to(target)
    save_credentials("a.example", Credentials("alice", SECRET), settings)
    assert link.is_symlink()
    assert json.loads(target.read_text())["psFormat"] == "x"
    assert mode(target) == 0o600


def test_save_through_the_configured_helper_keeps_the_secret_out_of_the_file(settings: Settings, helper: Helper):
    path = write_config(settings, {"credsStore": "test", "auths": {}})
    location = save_credentials("a.example", Credentials("alice", SECRET), settings)
    assert location.helper == "test"
    assert location.description == "credential helper docker-credential-test"
    assert credential_location("a.example", settings) == location
    assert helper.contents() == {"a.example": {"Username": "alice", "Secret": SECRET}}
    assert json.loads(path.read_text()) == {"credsStore": "test", "auths": {"a.example": {}}}
    assert SECRET not in path.read_text()
    assert find_credentials("a.example", settings) == Credentials("alice", SECRET)


def test_save_identity_token_through_a_helper_uses_the_token_username(settings: Settings, helper: Helper):
    write_config(settings, {"credHelpers": {"a.example": "test"}})
    save_credentials("a.example", Credentials(identity_token="TEST-ONLY-rt"), settings)
    assert helper.contents() == {"a.example": {"Username": "<token>", "Secret": "TEST-ONLY-rt"}}


def test_failing_helper_store_leaves_the_file_alone(settings: Settings, helper: Helper,
                                                    monkeypatch: pytest.MonkeyPatch):
    path = write_config(settings, {"credsStore": "test"})
    before = path.read_bytes()
    monkeypatch.setenv("TEST_HELPER_MODE", "fail")
    with pytest.raises(ConfigurationError, match="failed to store"):
        save_credentials("a.example", Credentials("alice", SECRET), settings)
    assert path.read_bytes() == before


def test_unwritable_location_is_a_configuration_error(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = Settings(docker_config_dir=blocker / "docker")
    with pytest.raises(ConfigurationError) as info:
        save_credentials("a.example", Credentials("alice", SECRET), settings)
    assert "cannot write docker config" in info.value.message
    assert "DOCKER_CONFIG" in info.value.hint


def test_malformed_file_is_not_overwritten(settings: Settings):
    path = write_config(settings, '{"auths": ')
    with pytest.raises(ConfigurationError):
        save_credentials("a.example", Credentials("alice", SECRET), settings)
    assert path.read_text() == '{"auths": '


def test_empty_credentials_are_not_saved(settings: Settings):
    with pytest.raises(ConfigurationError):
        save_credentials("a.example", Credentials(), settings)


# -- removing ---------------------------------------------------------------------------------------------------


def test_remove_erases_every_spelling_and_keeps_the_rest(settings: Settings):
    path = write_config(settings, {
        "auths": {
            "a.example": {"auth": auth_field("alice", SECRET)},
            "https://a.example": {"auth": auth_field("alice", "older")},
            "http://a.example/v2/": {"auth": auth_field("alice", "oldest")},
            "b.example": {"auth": auth_field("bob", "x")},
        },
        "psFormat": "x",
    })
    assert remove_credentials("a.example", settings) is True
    assert json.loads(path.read_text()) == {"auths": {"b.example": {"auth": auth_field("bob", "x")}}, "psFormat": "x"}
    assert mode(path) == 0o600
    assert remove_credentials("a.example", settings) is False


def test_remove_without_a_file_or_entry(settings: Settings):
    assert remove_credentials("a.example", settings) is False
    path = write_config(settings, {"auths": {"b.example": {}}})
    before = path.read_bytes()
    assert remove_credentials("a.example", settings) is False
    assert path.read_bytes() == before  # untouched


def test_remove_erases_from_the_helper_too(settings: Settings, helper: Helper):
    write_config(settings, {"credsStore": "test"})
    save_credentials("docker.io", Credentials("hubuser", SECRET), settings)
    assert remove_credentials("docker.io", settings) is True
    assert helper.contents() == {}
    assert json.loads((settings.docker_config_dir / "config.json").read_text())["auths"] == {}
    assert ["erase", DOCKER_HUB_SERVER] in helper.calls()
    assert remove_credentials("docker.io", settings) is False


def test_credentials_never_show_their_secrets():
    credentials = Credentials("alice", SECRET, "TEST-ONLY-rt")
    for text in (repr(credentials), str(credentials), f"{credentials}", repr([credentials])):
        assert "alice" in text
        assert SECRET not in text and "TEST-ONLY-rt" not in text
