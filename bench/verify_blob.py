"""``supplychain verify-blob`` of a keyless bundle against ``sigstore verify identity --offline`` (sigstore-python's
CLI) on the same bundle and file, whole processes through ``bench/harness.py`` (issue 11, "Speed": goal <= 0.5x).

The bundle is a real one: sigstore-python's ``bundle_v3_github.whl.sigstore`` (a production Fulcio certificate for a
GitHub Actions workflow, Rekor v1 SET and inclusion proof) with the wheel it signs (``fixtures/vectors/tlog/``). Both
sides check the same things offline against Sigstore's production trusted root as the ``sigstore`` package embeds it:
the signature, the log entry (body, SET, inclusion proof and checkpoint), the certificate chain at the log's time, the
embedded SCT, the identity and the issuer. Each must say it verified before the figures are taken.

Usage: python3 bench/verify_blob.py [ROUNDS]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Command, compare, report  # noqa: E402

VECTORS = HERE.parent / "fixtures" / "vectors" / "tlog" / "sigstore-python"
ARTIFACT = VECTORS / "bundle_v3_github.whl"
BUNDLE = VECTORS / "bundle_v3_github.whl.sigstore"
IDENTITY = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
ISSUER = "https://token.actions.githubusercontent.com"


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    sigstore = shutil.which("sigstore")
    if sigstore is None:
        sys.exit("the sigstore CLI (sigstore-python) is not installed")
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    ours = Command("supplychain", [sys.executable, "-m", "supplychain", "verify-blob", "--offline", "--bundle",
                                   str(BUNDLE), "--certificate-identity", IDENTITY, "--certificate-oidc-issuer",
                                   ISSUER, str(ARTIFACT)], env=env)
    theirs = Command("sigstore", [sigstore, "verify", "identity", "--offline", "--bundle", str(BUNDLE),
                                  "--cert-identity", IDENTITY, "--cert-oidc-issuer", ISSUER, str(ARTIFACT)], env=env)
    for command in (ours, theirs):  # both verify, or the figures mean nothing
        done = subprocess.run(command.argv, env=command.env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, (command.name, done.stderr)
        assert "Verified OK" in done.stderr or "OK:" in done.stderr, (command.name, done.stderr)
    results = compare([ours, theirs], rounds=rounds)
    report(results, ours="supplychain", baseline="sigstore", goal="<= 0.5x",
           title="verify-blob of a keyless bundle, offline (production root)")


if __name__ == "__main__":
    main()
