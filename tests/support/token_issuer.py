"""A TEST-ONLY token service for distribution's ``auth: token`` (the ``token_issuer`` and ``token_registry``
fixtures of ``tests/integration/conftest.py`` run it with a real registry).

The service implements the distribution token spec (``docs/spec/auth/token.md``, ``oauth.md``, ``jwt.md``):

- ``GET /token?service=&scope=...`` with optional Basic credentials (anonymous otherwise);
- ``POST /token`` with the OAuth2 form: ``grant_type=refresh_token`` or ``password``, ``client_id`` required;
- answers ES256 JWTs whose ``x5c`` header carries the service's TEST-ONLY signing certificate, issued by a
  TEST-ONLY root that the registry trusts (``rootcertbundle``). Claims: ``iss``, ``sub``, ``aud`` (= service),
  ``exp``, ``nbf``, ``iat``, ``jti``, and ``access`` granting only the requested actions the user may do.

It runs on a free 127.0.0.1 port in a thread of the test process and records every request, so tests can count
token requests. Nothing here is for production use.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVICE = "supplychain-test-registry"
ISSUER = "supplychain-test-token-issuer"

# TEST-ONLY accounts of the token registry fixture.
PUSH_USER = "pusher"
PUSH_PASSWORD = "TEST-ONLY-push-password"
READ_USER = "reader"
READ_PASSWORD = "TEST-ONLY-read-password"
PUBLIC_PREFIX = "public/"  # anonymous users may pull repositories under this prefix


@dataclass(frozen=True)
class Account:
    """A TEST-ONLY user and the repository actions it may perform."""

    password: str
    actions: frozenset[str]


@dataclass(frozen=True)
class TokenRequestRecord:
    """One request the service received."""

    method: str
    grant: str  # "basic", "anonymous", "refresh_token", "password"
    subject: str
    scopes: tuple[str, ...]
    status: int
    token: str = ""  # the access token issued ("" when refused): tests look for it where it must not be


@dataclass
class TokenIssuer:
    """The TEST-ONLY token service. ``start()`` it, give ``registry_auth_config()`` to a ``RegistryProcess``."""

    directory: Path
    accounts: Mapping[str, Account] = field(default_factory=dict)
    service: str = SERVICE
    issuer: str = ISSUER
    expires_in: int = 300
    anonymous_prefix: str = PUBLIC_PREFIX
    records: list[TokenRequestRecord] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _refresh_tokens: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._key, self._leaf_der, self.root_bundle = _make_signing_chain(self.directory)

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> TokenIssuer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer._handle(self, "GET")

            def do_POST(self) -> None:
                issuer._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="token-issuer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def realm(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/token"

    def registry_auth_config(self) -> dict[str, Any]:
        """distribution's ``auth: token`` section for a registry trusting this service."""
        return {
            "token": {
                "realm": self.realm,
                "service": self.service,
                "issuer": self.issuer,
                "rootcertbundle": str(self.root_bundle),
            }
        }

    def issue_refresh_token(self, username: str) -> str:
        """A refresh (identity) token for ``username``, as ``docker login`` would save."""
        token = "TEST-ONLY-refresh-" + secrets.token_urlsafe(16)
        with self._lock:
            self._refresh_tokens[token] = username
        return token

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def count(self, *, scopes: tuple[str, ...] | None = None) -> int:
        """Tokens issued (for exactly ``scopes``, compared with each scope's actions as a set: the registry
        builds its challenges from a Go map, so it may ask for ``push,pull`` as well as ``pull,push``)."""
        wanted = _normalised(scopes) if scopes is not None else None
        with self._lock:
            return sum(1 for r in self.records
                       if r.status == 200 and (wanted is None or _normalised(r.scopes) == wanted))

    # -- the endpoint ---------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        if url.path != "/token":
            self._answer(handler, 404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
            return
        if method == "GET":
            query = parse_qs(url.query)
            scopes = tuple(query.get("scope", []))
            service = (query.get("service") or [""])[0]
            subject, grant, error = self._basic_subject(handler.headers.get("Authorization"))
        else:
            length = int(handler.headers.get("Content-Length") or 0)
            form = parse_qs(handler.rfile.read(length).decode())
            scopes = tuple((form.get("scope") or [""])[0].split())
            service = (form.get("service") or [""])[0]
            subject, grant, error = self._form_subject(form)
        if error is None and service != self.service:
            error = (400, "unknown service")
        status = error[0] if error else 200
        token = self._token(subject, scopes) if error is None else ""
        with self._lock:
            self.records.append(TokenRequestRecord(method, grant, subject, scopes, status, token))
        if error is not None:
            self._answer(handler, error[0], {"errors": [{"code": "UNAUTHORIZED", "message": error[1]}]})
            return
        if method == "GET":
            body = {"token": token, "expires_in": self.expires_in, "issued_at": _now_iso()}
        else:  # OAuth2 answers use access_token
            body = {"access_token": token, "expires_in": self.expires_in, "scope": " ".join(scopes)}
        self._answer(handler, 200, body)

    def _basic_subject(self, header: str | None) -> tuple[str, str, tuple[int, str] | None]:
        if not header:
            return "", "anonymous", None
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return "", "basic", (401, "unsupported authorization scheme")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return "", "basic", (401, "malformed basic credentials")
        account = self.accounts.get(user)
        if account is None or not secrets.compare_digest(account.password, password):
            return user, "basic", (401, "incorrect username or password")
        return user, "basic", None

    def _form_subject(self, form: Mapping[str, list[str]]) -> tuple[str, str, tuple[int, str] | None]:
        grant = (form.get("grant_type") or [""])[0]
        if not (form.get("client_id") or [""])[0]:
            return "", grant, (400, "client_id is required")
        if grant == "refresh_token":
            with self._lock:
                user = self._refresh_tokens.get((form.get("refresh_token") or [""])[0])
            if user is None:
                return "", grant, (401, "invalid refresh token")
            return user, grant, None
        if grant == "password":
            user = (form.get("username") or [""])[0]
            account = self.accounts.get(user)
            if account is None or account.password != (form.get("password") or [""])[0]:
                return user, grant, (401, "incorrect username or password")
            return user, grant, None
        return "", grant, (400, f"unsupported grant_type {grant!r}")

    def _token(self, subject: str, scopes: tuple[str, ...]) -> str:
        now = int(time.time())
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository":
                continue
            allowed = self._allowed(subject, name)
            granted = [a for a in actions.split(",") if a in allowed]
            access.append({"type": kind, "name": name, "actions": granted})
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        x5c = [base64.b64encode(self._leaf_der).decode("ascii")]
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"x5c": x5c})

    def _allowed(self, subject: str, repository: str) -> frozenset[str]:
        if subject:
            account = self.accounts.get(subject)
            return account.actions if account else frozenset()
        return frozenset({"pull"}) if repository.startswith(self.anonymous_prefix) else frozenset()

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "supplychain TEST-ONLY"),
    ])


def _make_signing_chain(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, bytes, Path]:
    """A TEST-ONLY root (written as the registry's ``rootcertbundle``) and a token signing certificate it issued.

    The signing certificate has no extended key usage: Go's verifier then accepts it for any usage.
    """
    now = datetime.datetime.now(datetime.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("supplychain TEST-ONLY token root"))
        .issuer_name(_name("supplychain TEST-ONLY token root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("supplychain TEST-ONLY token signer"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    bundle = directory / "token-root.pem"
    bundle.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return key, leaf.public_bytes(serialization.Encoding.DER), bundle


def _normalised(scopes: tuple[str, ...]) -> frozenset[tuple[str, frozenset[str]]]:
    out = set()
    for scope in scopes:
        resource, _, actions = scope.rpartition(":")
        out.add((resource, frozenset(actions.split(","))))
    return frozenset(out)
