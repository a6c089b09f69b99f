"""``verify-blob --offline`` really makes no network call: the command runs in a fresh interpreter whose audit hook
(PEP 578) records every socket connection, name lookup and ``urllib`` request; a keyless verification of a real
vector (production root, certificate, SCT, SET, inclusion proof) and one with RFC 3161 timestamps record none. The
same probe run with one network call made on purpose records it, so the test can fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.fixture import fixture_path

PYTHON = fixture_path("vectors", "tlog", "sigstore-python")
NETWORK_EVENTS = ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                  "socket.sendto", "socket.sendmsg", "socket.bind", "urllib.Request", "http.client.connect")
PROBE = """
import json, sys
events = []
def hook(event, args):
    if event in EVENTS:
        events.append(event)
sys.addaudithook(hook)
code = 0
if sys.argv[1] == "--call-out":  # the control: one lookup made on purpose
    import socket
    try:
        socket.getaddrinfo("localhost", 9)
    except OSError:
        pass
else:
    from supplychain.cli.main import main
    try:
        main(sys.argv[1:])
    except SystemExit as done:
        code = done.code
print("PROBE " + json.dumps({"code": code, "events": events}), file=sys.__stderr__)
"""


def probe(*args: str | Path) -> dict[str, object]:
    code = f"EVENTS = {NETWORK_EVENTS!r}\n{PROBE}"
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=120)
    line = [part for part in done.stderr.splitlines() if part.startswith("PROBE ")][-1]
    result: dict[str, object] = json.loads(line.removeprefix("PROBE "))
    return result


def test_the_probe_sees_a_network_call():
    assert probe("--call-out")["events"] == ["socket.getaddrinfo"]


def test_keyless_verify_blob_offline_makes_no_network_call():
    result = probe("verify-blob", "--offline", "--bundle", PYTHON / "bundle_v3_github.whl.sigstore",
                   "--certificate-identity",
                   "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2",
                   "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com",
                   PYTHON / "bundle_v3_github.whl")
    assert result == {"code": 0, "events": []}


def test_timestamped_and_rekor_v2_bundles_offline_make_no_network_call():
    tsa = probe("verify-blob", "--offline", "--bundle", PYTHON / "tsa" / "bundle.txt.sigstore",
                "--trusted-root", fixture_path("sigstore", "tsa_trusted_root.json"),
                "--certificate-identity-regexp", ".", "--certificate-oidc-issuer-regexp", ".",
                PYTHON / "tsa" / "bundle.txt")
    assert tsa == {"code": 0, "events": []}
    v2 = probe("verify-blob", "--offline", "--bundle", PYTHON / "staging-rekor-v2.txt.sigstore.json",
               "--trusted-root", PYTHON / "trusted_root.staging.json",
               "--certificate-identity-regexp", ".", "--certificate-oidc-issuer-regexp", ".",
               PYTHON / "staging-rekor-v2.txt")
    assert v2 == {"code": 0, "events": []}
