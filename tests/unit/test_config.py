"""Settings from the environment: bad values are one clear error, not an internal error later."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplychain.config import Settings, load_settings
from supplychain.errors import ConfigurationError, ExitCode


def test_defaults_and_overrides(tmp_path: Path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    settings = load_settings({
        "SUPPLYCHAIN_INSECURE_REGISTRIES": "a:5000, b ,",
        "SUPPLYCHAIN_TIMEOUT": "2.5",
        "SUPPLYCHAIN_CA_FILE": str(ca),
        "DOCKER_CONFIG": str(tmp_path),
        "SUPPLYCHAIN_CHUNKED_UPLOAD": "1",
    })
    assert settings.insecure_registries == frozenset({"a:5000", "b"})
    assert settings.timeout == 2.5
    assert settings.ca_file == ca
    assert settings.docker_config_dir == tmp_path
    assert settings.chunked_upload is True
    assert load_settings({}).timeout == Settings().timeout
    limits = load_settings({"SUPPLYCHAIN_MAX_SIGNATURE_SIZE": "4096", "SUPPLYCHAIN_MAX_REFERRERS": "50"})
    assert (limits.max_signature_bytes, limits.max_referrers) == (4096, 50)
    assert (Settings().max_signature_bytes, Settings().max_referrers) == (1024 * 1024, 1000)
    assert settings.with_overrides(timeout=None, retries=1).retries == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [("TIMEOUT", "nan"), ("TIMEOUT", "inf"), ("TIMEOUT", "0"), ("TIMEOUT", "-1"), ("TIMEOUT", "soon"),
     ("RETRIES", "1.5"), ("RETRIES", "-2"), ("MAX_BLOB_SIZE", "big"), ("MAX_SIGNATURE_SIZE", "1MiB"),
     ("MAX_REFERRERS", "0"), ("MAX_REFERRERS", "many")],
)
def test_bad_numbers_are_configuration_errors(key: str, value: str):
    with pytest.raises(ConfigurationError) as info:
        load_settings({f"SUPPLYCHAIN_{key}": value})
    assert info.value.exit_code == ExitCode.INVALID_INPUT
    assert f"SUPPLYCHAIN_{key}" in info.value.message
    assert info.value.hint


@pytest.mark.parametrize(
    ("key", "value", "message", "hint"),
    [("RETRIES", "some", "is not a whole number", "give a non-negative whole number"),
     ("TIMEOUT", "soon", "is not a number", "give a positive number"),
     ("MAX_REFERRERS", "0", "is out of range", "give a positive whole number"),
     ("CONCURRENCY", "abc", "is not a whole number", "give a whole number from 1 to 64 (the default is 8)"),
     ("CONCURRENCY", "0", "is out of range", "give a whole number from 1 to 64"),
     ("CONCURRENCY", "65", "is over 64", "give a whole number from 1 to 64")],
)
def test_bad_numbers_say_what_is_wanted(key: str, value: str, message: str, hint: str):
    """The hint names the kind of number and, for --concurrency's variable, its range (it said "give a int")."""
    with pytest.raises(ConfigurationError) as info:
        load_settings({f"SUPPLYCHAIN_{key}": value})
    assert message in info.value.message
    assert info.value.hint is not None and hint in info.value.hint


def test_missing_ca_file_names_the_variable(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="SUPPLYCHAIN_CA_FILE"):
        load_settings({"SUPPLYCHAIN_CA_FILE": str(tmp_path / "nope.pem")})


def test_log_url_passwords_and_oidc_settings_come_from_the_environment_once():
    # Issue 9 item 8: non-CLI entry points (webhook, gate) get these from Settings, not from os.environ.
    defaults = load_settings({})
    assert (defaults.rekor_url, defaults.passwords, defaults.id_token) == (None, (), None)
    assert (defaults.oidc_issuer, defaults.oidc_client_id) == ("https://oauth2.sigstore.dev/auth", "sigstore")
    env = {"SUPPLYCHAIN_REKOR_URL": "http://127.0.0.1:3000", "COSIGN_PASSWORD": "cosign-pw",
           "SUPPLYCHAIN_PASSWORD": "", "SIGSTORE_ID_TOKEN": "eyJ.token"}
    settings = load_settings(env)
    assert settings.rekor_url == "http://127.0.0.1:3000"
    # In PASSWORD_ENV_VARS order, set-but-empty kept (it is the empty password, as in cosign).
    assert settings.passwords == (("SUPPLYCHAIN_PASSWORD", ""), ("COSIGN_PASSWORD", "cosign-pw"))
    assert settings.id_token == "eyJ.token"
    assert "cosign-pw" not in repr(settings) and "eyJ.token" not in repr(settings)
