"""A TEST-ONLY OpenID Connect issuer on 127.0.0.1 (the ``oidc_issuer`` session fixture of
``tests/integration/conftest.py``): ES256-signed identity tokens, their JWKS, and the discovery document.

- ``GET /.well-known/openid-configuration``: ``issuer``, ``jwks_uri``, ``authorization_endpoint``,
  ``token_endpoint`` (OpenID Connect Discovery 1.0 section 3; sigstore's ``Issuer`` reads the last two);
- ``GET /jwks``: the signing key as a JWK set (RFC 7517);
- ``GET /github/token?audience=A`` with ``Authorization: bearer GITHUB_REQUEST_TOKEN``: ``{"value": <token for A>}``,
  what GitHub Actions' ID-token endpoint answers (``ACTIONS_ID_TOKEN_REQUEST_URL``), so the ``id`` package's ambient
  detection runs for real (``github_environment()`` gives the variables a job with ``id-token: write`` has);
  another bearer is a 401;
- ``GET /auth`` and ``POST /token``: the authorization-code flow with PKCE (RFC 6749 4.1, RFC 7636) that sigstore's
  interactive ``Issuer.identity_token()`` runs; ``/auth`` grants at once (no login page), redirecting to the
  client's ``redirect_uri`` with a code, and ``/token`` trades the code and its verifier for a token of audience
  ``client_id``; ``tests/support/browser.py`` is the "browser" that follows the redirects;
- ``token(...)``: an identity token minted in-process (no OAuth flow: tests pass it with ``--identity-token``), with
  the claims Fulcio and sigstore's ``IdentityToken`` look at: ``iss``, ``sub``, ``aud`` (``sigstore`` by default),
  ``iat``, ``nbf``, ``exp``, ``email`` and ``email_verified`` when an email is given; any claim can be dropped or
  overridden, for the bad-token tests.

Nothing here is for production use.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

IDENTITY = "https://ci.example.test/acme/app/.ci/release.yml@refs/heads/main"  # a URI SAN, as CI identities are
AUDIENCE = "sigstore"
GITHUB_REQUEST_TOKEN = "TEST-ONLY-actions-request-token"  # a test value, not a secret


class OidcIssuer:
    """The issuer, serving on a thread of the test process; ``url`` is its issuer URL (``iss``)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())  # TEST-ONLY
        jwk = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        self.kid = "TEST-ONLY-key-1"
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}]}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = issuer.configuration
                elif path == "/jwks":
                    body = issuer.jwks
                elif path == "/auth":  # the user "logs in" at once: back to the client with a code
                    params = {name: values[0] for name, values in parse_qs(query).items()}
                    code = secrets.token_urlsafe(16)
                    issuer.authorizations[code] = params
                    location = f"{params['redirect_uri']}?{urlencode({'code': code, 'state': params['state']})}"
                    self.send_response(302)
                    self.send_header("Location", location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                elif path == "/github/token":
                    if self.headers.get("Authorization") != f"bearer {GITHUB_REQUEST_TOKEN}":
                        self.send_error(401)
                        return
                    audience = parse_qs(query).get("audience", [""])[0]
                    issuer.github_requests.append(audience)
                    body = {"value": issuer.token(audience=audience)}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                """The token endpoint: an authorization code from ``/auth`` and its PKCE verifier (RFC 7636 S256)."""
                form = {name: values[0] for name, values in
                        parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()).items()}
                granted = issuer.authorizations.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "").encode()
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
                if (self.path != "/token" or granted is None or granted["code_challenge"] != challenge
                        or granted["redirect_uri"] != form.get("redirect_uri")):
                    body: dict[str, Any] = {"error": "invalid_grant"}
                    status = 400
                else:
                    token = issuer.token(audience=granted["client_id"])
                    body, status = {"access_token": token, "id_token": token, "token_type": "Bearer"}, 200
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.authorizations: dict[str, dict[str, str]] = {}  # code -> the /auth request's parameters
        self.github_requests: list[str] = []  # the audience of each GitHub-style token request
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def configuration(self) -> dict[str, Any]:
        return {"issuer": self.url, "jwks_uri": f"{self.url}/jwks", "authorization_endpoint": f"{self.url}/auth",
                "token_endpoint": f"{self.url}/token", "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["ES256"]}

    def token(self, *, subject: str = IDENTITY, audience: str = AUDIENCE, lifetime: int = 300,
              issued: int | None = None, email: str | None = None, drop: tuple[str, ...] = (), **claims: Any) -> str:
        """A signed identity token; ``drop`` removes claims, ``claims`` adds or overrides them."""
        now = int(time.time()) if issued is None else issued
        body: dict[str, Any] = {"iss": self.url, "sub": subject, "aud": audience, "iat": now, "nbf": now,
                                "exp": now + lifetime}
        if email is not None:
            body |= {"email": email, "email_verified": True}
        body |= claims
        for name in drop:
            body.pop(name, None)
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": self.kid})

    def github_environment(self) -> dict[str, str]:
        """The variables of a GitHub Actions job allowed to request ID tokens, pointing at this issuer."""
        return {"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}/github/token?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": GITHUB_REQUEST_TOKEN}

    def close(self) -> None:
        self.server.shutdown()
        self._thread.join()
        self.server.server_close()
