"""Registry credentials in the docker CLI config file, read and written the way the docker CLI does.

The file is ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json`` (``Settings.docker_config_dir``). What we use
of it (docker/cli ``cli/config/configfile/file.go`` and ``types/authconfig.go``):

- ``auths``: server address -> entry. Keys are a host (``host[:port]``) or a URL (``https://host``,
  ``http://host/v2/``); Docker Hub's key is ``https://index.docker.io/v1/``. An entry holds ``auth`` =
  base64(``user:password``), or ``username`` and ``password``, and optionally ``identitytoken`` (an OAuth2
  refresh token for the registry's token service). Lookups try the exact key, then any key whose host matches,
  as docker's file store does (``ConvertToHostname``).
- ``credHelpers``: host -> helper name; ``credsStore``: the helper for every other host. A helper is the program
  ``docker-credential-<name>`` speaking the docker-credential-helpers protocol: ``get`` reads the server URL on
  stdin and prints ``{"ServerURL", "Username", "Secret"}`` (username ``<token>`` means the secret is an identity
  token); ``store`` reads that JSON; ``erase`` reads the server URL. When a helper holds the secret, docker keeps an
  empty ``auths`` entry for the server; we do the same.

Writes keep every other key of the file, and replace it atomically with mode 0600 (temporary file in the same
directory, fsync, rename). Secrets never appear in ``repr``, messages or logs.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supplychain.config import Settings
from supplychain.errors import ConfigurationError
from supplychain.files import PRIVATE_MODE, write_atomic
from supplychain.formats.strictjson import JsonFormatError, loads_untrusted

CONFIG_FILE_NAME = "config.json"
# docker/cli registry.IndexServer: the key Docker Hub credentials are saved under.
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
DOCKER_HUB = "docker.io"
_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
# docker-credential-helpers: credentials.ErrCredentialsNotFound's message, and the username of identity tokens.
_HELPER_NOT_FOUND = "credentials not found"
_TOKEN_USERNAME = "<token>"  # noqa: S105 - a protocol marker, not a password
_HELPER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
HELPER_TIMEOUT = 60.0  # seconds; a helper may unlock a keyring, but must not hang a CI job forever


@dataclass(frozen=True, slots=True, repr=False)
class Credentials:
    """Username/password, or an identity (refresh) token for the token service."""

    username: str = ""
    password: str = ""
    identity_token: str | None = None

    def __repr__(self) -> str:  # never leak secrets into logs or tracebacks
        return (
            f"Credentials(username={self.username!r}, password=***, "
            f"identity_token={'***' if self.identity_token else None})"
        )

    __str__ = __repr__

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to authenticate with."""
        return not (self.username or self.password or self.identity_token)


@dataclass(frozen=True, slots=True)
class CredentialLocation:
    """Where credentials for one registry are kept: the config file, and the helper holding the secret if any."""

    server: str  # the key: host[:port], or DOCKER_HUB_SERVER
    config_path: Path
    helper: str | None = None  # helper name (docker-credential-<helper>), None: inline in config.json

    @property
    def description(self) -> str:
        """Human-readable place, for messages."""
        if self.helper:
            return f"credential helper docker-credential-{self.helper}"
        return str(self.config_path)


def registry_host(server: str) -> str:
    """The ``host[:port]`` of a registry given as a name or URL, lower-cased; Docker Hub's names give ``docker.io``.

    Mirrors docker's ``ConvertToHostname``: drop ``http://``/``https://`` and anything after the first ``/``.
    """
    text = server.strip()
    lowered = text.lower()
    for prefix in ("https://", "http://"):
        if lowered.startswith(prefix):
            text = text[len(prefix) :]
            break
    host = text.split("/", 1)[0].lower()
    return DOCKER_HUB if host in _HUB_HOSTS else host


def server_address(registry: str) -> str:
    """The key credentials for ``registry`` are saved under: the host, or ``https://index.docker.io/v1/``."""
    host = registry_host(registry)
    return DOCKER_HUB_SERVER if host == DOCKER_HUB else host


def config_path(settings: Settings) -> Path:
    """The docker config file for these settings."""
    return settings.docker_config_dir / CONFIG_FILE_NAME


def find_credentials(registry: str, settings: Settings) -> Credentials | None:
    """Credentials saved for ``registry`` (``host[:port]``, ``docker.io`` for Docker Hub), or ``None``.

    The command's own ``--registry-username`` (``settings.registry_username``) wins. Then docker's config: a helper
    configured for the host (``credHelpers``, else ``credsStore``) is asked first; when it has nothing, an inline
    ``auths`` entry is used if there is one. Then, only when docker's config has nothing for the registry, the same
    lookup in ``settings.auth_file`` (containers-auth.json: ``REGISTRY_AUTH_FILE`` or
    ``$XDG_RUNTIME_DIR/containers/auth.json``, the files skopeo and podman read). Raises ``ConfigurationError``
    for a malformed file, a missing helper program, or a helper that fails.
    """
    if settings.registry_username:
        # --registry-username with its password: the command's own credentials win over saved ones (cosign).
        return Credentials(settings.registry_username, settings.registry_password or "")
    found = _find_in(config_path(settings), registry)
    if found is None and settings.auth_file is not None:
        # skopeo/podman's containers-auth.json, after docker's config (which wins when it names the registry).
        found = _find_in(settings.auth_file, registry)
    return found


def _find_in(path: Path, registry: str) -> Credentials | None:
    """Credentials for ``registry`` in one docker-config-shaped file (config.json or containers-auth.json)."""
    document = _load(path)
    if document is None:
        return None
    host = registry_host(registry)
    server = server_address(host)
    helper = _helper_for(document, host, path)
    if helper is not None:
        found = _helper_get(helper, server, path)
        if found is not None:
            return found
    entry_key = _find_auth_key(_auths(document, path), host, server)
    if entry_key is None:
        return None
    return _decode_entry(_auths(document, path)[entry_key], entry_key, path)


def credential_location(registry: str, settings: Settings) -> CredentialLocation:
    """Where ``save_credentials`` would put credentials for ``registry``."""
    path = config_path(settings)
    host = registry_host(registry)
    document = _load(path) or {}
    helper = _helper_for(document, host, path)
    return CredentialLocation(server_address(host), path, helper.name if helper else None)


def save_credentials(registry: str, credentials: Credentials, settings: Settings) -> CredentialLocation:
    """Save ``credentials`` for ``registry``, through the configured helper if there is one; return where.

    Every other key of config.json is kept; the file is replaced atomically with mode 0600.
    """
    if credentials.is_empty:
        raise ConfigurationError("refusing to save empty credentials", hint="give a user name and a password")
    path = config_path(settings)
    document = _load(path) or {}
    host = registry_host(registry)
    server = server_address(host)
    helper = _helper_for(document, host, path)
    auths = _auths(document, path, create=True)
    if helper is not None:
        _helper_store(helper, server, credentials, path)
        # docker's native store keeps an empty entry so that the registry is listed as logged in.
        auths[server] = {}
    else:
        auths[server] = _encode_entry(credentials)
    _write_atomic(path, document)
    return CredentialLocation(server, path, helper.name if helper else None)


def remove_credentials(registry: str, settings: Settings) -> bool:
    """Forget the credentials of ``registry`` (helper and every matching ``auths`` key); False if there were none."""
    path = config_path(settings)
    document = _load(path)
    if document is None:
        return False
    host = registry_host(registry)
    server = server_address(host)
    removed = False
    helper = _helper_for(document, host, path)
    if helper is not None:
        removed = _helper_erase(helper, server, path)
    auths = _auths(document, path)
    # docker logout erases the server address and its http:// and https:// spellings; we erase every key naming
    # the same host, so no stale spelling keeps a password around.
    stale = [key for key in auths if registry_host(key) == host]
    for key in stale:
        del auths[key]
    if stale:
        _write_atomic(path, document)
        removed = True
    return removed


# -- config.json -----------------------------------------------------------------------------------------------


def _load(path: Path) -> dict[str, Any] | None:
    """The parsed config file, or ``None`` when it does not exist."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read docker config {path}: {exc.strerror}",
            hint="check the file's permissions, or point DOCKER_CONFIG at another directory",
        ) from exc
    if not raw.strip():
        return {}  # docker treats an empty file as an empty config
    try:
        document = loads_untrusted(raw)
    except JsonFormatError as exc:  # bad UTF-8 or syntax ("invalid JSON at line L column C"), duplicates, nesting
        raise _malformed(path, str(exc)) from exc
    if not isinstance(document, dict):
        raise _malformed(path, "the top level is not a JSON object")
    return document


def _malformed(path: Path, problem: str) -> ConfigurationError:
    return ConfigurationError(
        f"malformed docker config {path}: {problem}",
        hint=f"fix {path} (it must be a JSON object like {{\"auths\": {{}}}}), or move it away and log in again",
    )


def _auths(document: dict[str, Any], path: Path, *, create: bool = False) -> dict[str, Any]:
    auths = document.get("auths")
    if auths is None:
        auths = {}
        if create:
            document["auths"] = auths
    if not isinstance(auths, dict):
        raise _malformed(path, '"auths" is not an object')
    return auths


def _find_auth_key(auths: Mapping[str, Any], host: str, server: str) -> str | None:
    """The exact key first, then the first key naming the same host (docker's file store lookup)."""
    if server in auths:
        return server
    for key in auths:
        if registry_host(key) == host:
            return key
    return None


def _decode_entry(entry: object, key: str, path: Path) -> Credentials | None:
    if not isinstance(entry, dict):
        raise _malformed(path, f'"auths" entry {key!r} is not an object')
    username = _string_field(entry, "username", key, path)
    password = _string_field(entry, "password", key, path)
    encoded = _string_field(entry, "auth", key, path)
    identity_token = _string_field(entry, "identitytoken", key, path) or None
    if encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise _malformed(path, f'"auth" of {key!r} is not base64 of "user:password"') from exc
        username, sep, password = decoded.partition(":")
        if not sep:
            raise _malformed(path, f'"auth" of {key!r} is not base64 of "user:password"')
    credentials = Credentials(username, password, identity_token)
    return None if credentials.is_empty else credentials


def _string_field(entry: Mapping[str, Any], name: str, key: str, path: Path) -> str:
    value = entry.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _malformed(path, f'"{name}" of {key!r} is not a string')
    return value


def _encode_entry(credentials: Credentials) -> dict[str, str]:
    """The entry docker's file store writes: ``auth`` = base64(user:password), plus ``identitytoken`` if any."""
    entry = {
        "auth": base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode("ascii")
    }
    if credentials.identity_token:
        entry["identitytoken"] = credentials.identity_token
    return entry


def _write_atomic(path: Path, document: Mapping[str, Any]) -> None:
    """Replace ``path`` with ``document`` atomically and durably, mode 0600 (``files.write_atomic``)."""
    # docker writes through a symlinked config.json to its target; so do we, keeping the link.
    target = Path(os.path.realpath(path))
    text = json.dumps(document, indent="\t", ensure_ascii=False) + "\n"
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(target, text.encode("utf-8"), mode=PRIVATE_MODE)
    except OSError as exc:
        raise _write_error(path, exc) from exc


def _write_error(path: Path, exc: OSError) -> ConfigurationError:
    return ConfigurationError(
        f"cannot write docker config {path}: {exc.strerror or exc}",
        hint=f"check the permissions of {path.parent}, or point DOCKER_CONFIG at a writable directory",
    )


# -- credential helpers ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Helper:
    name: str
    setting: str  # "credHelpers" or "credsStore", for messages


def _helper_for(document: Mapping[str, Any], host: str, path: Path) -> _Helper | None:
    """The helper configured for ``host``: ``credHelpers`` (any key spelling of the host) wins over ``credsStore``."""
    helpers = document.get("credHelpers")
    if helpers is not None:
        if not isinstance(helpers, dict):
            raise _malformed(path, '"credHelpers" is not an object')
        for key, name in helpers.items():
            if registry_host(key) == host:
                return _checked_helper(name, f'"credHelpers" entry {key!r}', path)
    store = document.get("credsStore")
    if store is None or store == "":
        return None
    return _checked_helper(store, '"credsStore"', path)


def _checked_helper(name: object, setting: str, path: Path) -> _Helper:
    if not isinstance(name, str) or not _HELPER_NAME.match(name):
        raise _malformed(path, f"{setting} must name a helper (letters, digits, '.', '_', '-'), got {name!r}")
    return _Helper(name, setting)


def _run_helper(helper: _Helper, action: str, stdin: str, path: Path) -> subprocess.CompletedProcess[bytes]:
    program = f"docker-credential-{helper.name}"
    executable = shutil.which(program)
    if executable is None:
        raise ConfigurationError(
            f"credential helper {program} (from {helper.setting} in {path}) is not installed or not on PATH",
            hint=f"install {program}, or remove {helper.setting} from {path}",
        )
    try:
        return subprocess.run(  # noqa: S603 - the program is the user's configured helper, found on PATH
            [executable, action],
            input=stdin.encode("utf-8"),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ConfigurationError(
            f"credential helper {program} did not answer '{action}' within {HELPER_TIMEOUT:.0f} s",
            hint="unlock its keyring or check the helper; or remove it from " + str(path),
        ) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"cannot run credential helper {program}: {exc.strerror or exc}",
            hint=f"check that {executable} is executable, or remove {helper.setting} from {path}",
        ) from exc


def _helper_failure(result: subprocess.CompletedProcess[bytes]) -> str:
    """The helper's own one-line complaint (helpers print errors on stdout, some on stderr)."""
    for stream in (result.stderr, result.stdout):
        text = stream.decode("utf-8", "replace").strip()
        if text:
            line = text.splitlines()[0]
            return line if len(line) <= 200 else line[:200] + "..."
    return f"exit status {result.returncode}"


def _helper_error(helper: _Helper, action: str, server: str, detail: str, path: Path) -> ConfigurationError:
    return ConfigurationError(
        f"credential helper docker-credential-{helper.name} failed to {action} credentials for {server}: {detail}",
        hint=f"check the helper (it is set by {helper.setting} in {path}), or remove it from that file",
    )


def _helper_get(helper: _Helper, server: str, path: Path) -> Credentials | None:
    result = _run_helper(helper, "get", server, path)
    if result.returncode != 0:
        detail = _helper_failure(result)
        if _HELPER_NOT_FOUND in detail.lower():
            return None
        raise _helper_error(helper, "get", server, detail, path)
    try:
        answer = loads_untrusted(result.stdout)
    except JsonFormatError as exc:
        # Never quote the output: it may hold the secret.
        raise _helper_error(helper, "get", server, "its answer is not JSON", path) from exc
    if not isinstance(answer, dict):
        raise _helper_error(helper, "get", server, "its answer is not a JSON object", path)
    username = answer.get("Username", "")
    secret = answer.get("Secret", "")
    if not isinstance(username, str) or not isinstance(secret, str):
        raise _helper_error(helper, "get", server, "Username and Secret must be strings", path)
    if not secret:
        return None
    if username == _TOKEN_USERNAME:
        return Credentials(identity_token=secret)
    return Credentials(username, secret)


def _helper_store(helper: _Helper, server: str, credentials: Credentials, path: Path) -> None:
    if credentials.identity_token:
        username, secret = _TOKEN_USERNAME, credentials.identity_token
    else:
        username, secret = credentials.username, credentials.password
    payload = json.dumps({"ServerURL": server, "Username": username, "Secret": secret})
    result = _run_helper(helper, "store", payload, path)
    if result.returncode != 0:
        raise _helper_error(helper, "store", server, _helper_failure(result), path)


def _helper_erase(helper: _Helper, server: str, path: Path) -> bool:
    result = _run_helper(helper, "erase", server, path)
    if result.returncode == 0:
        return True
    detail = _helper_failure(result)
    if _HELPER_NOT_FOUND in detail.lower():
        return False
    raise _helper_error(helper, "erase", server, detail, path)
