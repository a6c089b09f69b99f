"""A TEST-ONLY "web browser" for sigstore's interactive login: ``BROWSER="python3 -m tests.support.browser %s"``, run
from the checkout (as a module: this directory holds an ``http`` of its own that would shadow the stdlib's).

Python's ``webbrowser`` runs it with the URL sigstore opens (its local redirect server); it follows the redirects,
to the TEST-ONLY issuer's ``/auth`` (``tests/support/oidc.py``, which grants at once) and back to sigstore's
``/auth/callback`` with the code, as a user's browser would after they logged in. Only loopback URLs are followed.
"""

from __future__ import annotations

import sys
import urllib.parse
import urllib.request

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class _LoopbackOnly(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urllib.parse.urlsplit(newurl).hostname not in LOOPBACK:
            raise SystemExit(f"browser.py: refusing to follow {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def main(url: str) -> int:
    if urllib.parse.urlsplit(url).hostname not in LOOPBACK:
        print(f"browser.py: refusing {url}", file=sys.stderr)
        return 1
    opener = urllib.request.build_opener(_LoopbackOnly)
    with opener.open(url, timeout=30) as answer:
        answer.read()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
