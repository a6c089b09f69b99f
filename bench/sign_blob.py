"""``supplychain sign-blob --key K --bundle B FILE`` against the ``sigstore`` CLI (sigstore-python) signing the same
file into a bundle, whole processes through ``bench/harness.py`` (issue 11, "Speed": goal <= 0.5x).

sigstore-python's CLI has no ``--key``: its one way to sign is keyless. The baseline is therefore ``sigstore
--trust-config TC sign --identity-token T --bundle B FILE`` through the same local services, offline: a
pre-fetched token from the TEST-ONLY OIDC issuer (``tests/support/oidc.py``), ``@sigstore/mock``'s Fulcio
(``tests/js/mock-services.js``) and our ``tlog serve`` as the Rekor; no TSA for either side. Both sides make one
bundle of a message signature logged as one ``hashedrekord`` entry in the same log; the baseline also fetches a
certificate (one loopback request to node). A third figure is our keyless ``sign-blob`` with the same token and
services: the like-for-like operation (it runs sigstore's ``SigningContext`` inside, so about 1x is expected).

Needs node and the pinned sigstore-js packages (``npm ci --prefix tests/js``). Usage: python3 bench/sign_blob.py
[ROUNDS]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from harness import Command, compare, report  # noqa: E402

from supplychain.trust.create import build_client_trust_config  # noqa: E402
from tests.support.oidc import OidcIssuer  # noqa: E402
from tests.support.sigstore_services import SigstoreServices  # noqa: E402
from tests.support.tlog import LogProcess  # noqa: E402


def write_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())  # TEST-ONLY
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory(prefix="bench-sign-blob-") as tmp:
        root = Path(tmp)
        log = LogProcess(root / "log").init().start(quiet=True)
        services = SigstoreServices.start()
        issuer = OidcIssuer()
        try:
            run(root, log, services, issuer, rounds)
        finally:
            issuer.close()
            services.close()
            log.stop()


def run(root: Path, log: LogProcess, services: SigstoreServices, issuer: OidcIssuer, rounds: int) -> None:
    trust = services.write_trust(root / "trust", rekor_url=log.url, rekor_key=log.public_key_path, tsa=False)
    config = root / "trust_config.json"
    config.write_bytes(build_client_trust_config(trust["root"].read_bytes(), trust["signing_config"].read_bytes()))
    key = root / "bench.pem"
    write_key(key)
    blob = root / "artifact.bin"
    blob.write_bytes(os.urandom(64 * 1024))
    token = issuer.token(lifetime=3600)
    env = {"SUPPLYCHAIN_PASSWORD": "", "XDG_DATA_HOME": str(root / "data"), "PYTHONPATH": str(HERE.parent)}
    ours = [sys.executable, "-m", "supplychain", "sign-blob", str(blob), "--bundle", str(root / "ours.json"),
            "--key", str(key), "--rekor-url", log.url, "--rekor-public-key", str(log.public_key_path)]
    keyless = [sys.executable, "-m", "supplychain", "sign-blob", str(blob), "--bundle", str(root / "keyless.json"),
               "--identity-token", token, "--trusted-root", str(trust["root"]), "--signing-config",
               str(trust["signing_config"])]
    theirs = [sys.executable, "-m", "sigstore", "--trust-config", str(config), "sign", "--identity-token", token,
              "--overwrite", "--bundle", str(root / "theirs.json"), str(blob)]
    commands = [Command("supplychain sign-blob --key", ours, env=env, cwd=HERE.parent),
                Command("supplychain sign-blob keyless", keyless, env=env, cwd=HERE.parent),
                Command("sigstore sign", theirs, env=env)]
    results = compare(commands, rounds=rounds)
    report(results, ours="supplychain sign-blob --key", baseline="sigstore sign", goal="<= 0.5x",
           title="sign-blob of a 64 KiB file, one hashedrekord entry in tlog serve")
    report(results, ours="supplychain sign-blob keyless", baseline="sigstore sign", goal="~1x (the same library)",
           title="like for like: keyless through the same Fulcio and log")


if __name__ == "__main__":
    main()
