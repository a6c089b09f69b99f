"""The floor ``bench/verify.py`` measures ``supplychain verify --key`` against: httpx and cryptography only, the same
requests our verify makes for a key-signed image with a cosign ``.sig`` tag in distribution 2.8 (no referrers API),
and the same checks of what matters, with nothing else.

Per registry, once: ``GET /v2/``. Per image: ``HEAD`` the manifest by tag (its digest), ``GET`` the referrers API
(404 here), ``GET`` the referrers tag ``sha256-<hex>`` (404), ``GET`` the ``.sig`` manifest, ``GET`` each signature
layer's payload blob. Per layer: the blob's sha256, ECDSA over the payload with the key, the payload names the
image's digest, and the Rekor bundle annotation: the log's SET over the canonical entry (ECDSA with the log's key)
and its hashedrekord body records this signature and payload. Several images run on ``--concurrency`` threads
sharing one client, as ``verify`` runs them.

Not a verifier: no caps, no strict JSON, no error handling beyond a non-zero exit. Usage:
    python3 bench/verify_bare.py --key cosign.pub --log-key log.pub [--concurrency N] HOST/REPO:TAG...
"""

from __future__ import annotations

import sys
import types

# httpx imports its own CLI (rich, pygments, click) when they are installed; a bare script would not pay for that
# either (supplychain/__init__.py stubs it the same way), so the floor is not inflated by it.
_stub = types.ModuleType("httpx._main")
_stub.main = lambda: None  # type: ignore[attr-defined]
sys.modules.setdefault("httpx._main", _stub)

import argparse  # noqa: E402 - after the stub above
import base64  # noqa: E402 - after the stub above
import hashlib  # noqa: E402 - after the stub above
import json  # noqa: E402 - after the stub above
from concurrent.futures import ThreadPoolExecutor  # noqa: E402 - after the stub above

import httpx  # noqa: E402 - after the stub above
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402 - after the stub above
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402 - after the stub above

ACCEPT = ("application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
          "application/vnd.docker.distribution.manifest.list.v2+json, "
          "application/vnd.docker.distribution.manifest.v2+json")


def verify_one(client: httpx.Client, ref: str, key: ec.EllipticCurvePublicKey, log_key: ec.EllipticCurvePublicKey,
               key_der: bytes) -> bool:
    host, _, rest = ref.partition("/")
    repo, _, tag = rest.rpartition(":")
    base = f"http://{host}/v2/{repo}"
    digest = client.head(f"{base}/manifests/{tag}", headers={"Accept": ACCEPT}).headers["docker-content-digest"]
    hexdigest = digest.removeprefix("sha256:")
    client.get(f"{base}/referrers/{digest}", headers={"Accept": "application/vnd.oci.image.index.v1+json"})
    client.get(f"{base}/manifests/sha256-{hexdigest}", headers={"Accept": ACCEPT})
    manifest = client.get(f"{base}/manifests/sha256-{hexdigest}.sig", headers={"Accept": ACCEPT}).json()
    for layer in manifest["layers"]:
        payload = client.get(f"{base}/blobs/{layer['digest']}").content
        if "sha256:" + hashlib.sha256(payload).hexdigest() != layer["digest"]:
            continue
        annotations = layer["annotations"]
        signature = base64.b64decode(annotations["dev.cosignproject.cosign/signature"])
        try:
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        except Exception:  # noqa: BLE001 - any failure: this layer does not verify
            continue
        if json.loads(payload)["critical"]["image"]["docker-manifest-digest"] != digest:
            continue
        bundle = json.loads(annotations["dev.sigstore.cosign/bundle"])
        entry = bundle["Payload"]
        # RFC 8785 of this object of ASCII strings and small integers is sorted keys, no spaces.
        signed = json.dumps({k: entry[k] for k in ("body", "integratedTime", "logID", "logIndex")},
                            sort_keys=True, separators=(",", ":")).encode()
        try:
            log_key.verify(base64.b64decode(bundle["SignedEntryTimestamp"]), signed, ec.ECDSA(hashes.SHA256()))
        except Exception:  # noqa: BLE001 - any failure: this layer does not verify
            continue
        spec = json.loads(base64.b64decode(entry["body"]))["spec"]
        logged_key = serialization.load_pem_public_key(base64.b64decode(spec["signature"]["publicKey"]["content"]))
        if (spec["data"]["hash"]["value"] == hashlib.sha256(payload).hexdigest()
                and base64.b64decode(spec["signature"]["content"]) == signature
                and logged_key.public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo) == key_der):
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", required=True)
    parser.add_argument("--log-key", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("refs", nargs="+")
    args = parser.parse_args()
    with open(args.key, "rb") as handle:
        key = serialization.load_pem_public_key(handle.read())
    with open(args.log_key, "rb") as handle:
        log_key = serialization.load_pem_public_key(handle.read())
    assert isinstance(key, ec.EllipticCurvePublicKey) and isinstance(log_key, ec.EllipticCurvePublicKey)
    key_der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with httpx.Client(timeout=30) as client:
        for host in sorted({ref.partition("/")[0] for ref in args.refs}):
            client.get(f"http://{host}/v2/")  # once per registry
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            verified = list(pool.map(lambda ref: verify_one(client, ref, key, log_key, key_der), args.refs))
    for ref, ok in zip(args.refs, verified, strict=True):
        print(f"{'OK' if ok else 'FAILED'} {ref}")
    sys.exit(0 if all(verified) else 1)


if __name__ == "__main__":
    main()
