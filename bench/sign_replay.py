"""The floor of ``bench/sign.py``: a bare httpx + cryptography script that makes the requests ``supplychain sign
--recursive --tlog-upload=false`` makes (its ``--debug`` request log, minus the https probe of a plain-HTTP
registry) and its ECDSA signatures, at the same concurrency, knowing everything a real client must find out:
the registry speaks plain HTTP, needs no auth, and has none of the signatures yet.

Per manifest of the index (the index itself first), as ``sign`` does in its phases: read the ``.sig`` tag (404)
and sign the simple-signing payload (ECDSA P-256, SHA-256); then upload the payload and the ``.sig`` config (HEAD,
POST, PUT each), read the tag again, put the ``.sig`` manifest, and read it twice to confirm (``oci.tagwriter``
waits a few times the put's duration between the two reads, on a registry; the replay, a floor, does not).

Usage: python3 bench/sign_replay.py HOST REPOSITORY DIGEST KEY.pem IDENTITY CONCURRENCY [--count]
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = f"{MANIFEST}, {INDEX}"


def main() -> None:
    host, repository, digest, key_file, identity, concurrency = sys.argv[1:7]
    key = serialization.load_pem_private_key(open(key_file, "rb").read(), None)  # noqa: SIM115
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    base = f"http://{host}/v2/{repository}"
    counted = {"n": 0}
    limits = httpx.Limits(max_connections=int(concurrency))
    with httpx.Client(limits=limits, timeout=30) as client:
        def send(method: str, url: str, **kwargs: object) -> httpx.Response:
            counted["n"] += 1
            return client.request(method, url, **kwargs)  # type: ignore[arg-type]

        send("GET", f"http://{host}/v2/").raise_for_status()
        send("HEAD", f"{base}/manifests/{digest}", headers={"Accept": ACCEPT}).raise_for_status()
        index = json.loads(send("GET", f"{base}/manifests/{digest}", headers={"Accept": ACCEPT}).content)
        targets = [digest, *(m["digest"] for m in index["manifests"])]

        def sig_tag(target: str) -> str:
            return f"{base}/manifests/{target.replace(':', '-')}.sig"

        def phase1(target: str) -> tuple[str, bytes, bytes]:
            assert send("GET", sig_tag(target), headers={"Accept": ACCEPT}).status_code == 404
            payload = json.dumps({"critical": {"identity": {"docker-reference": identity},
                                               "image": {"docker-manifest-digest": target},
                                               "type": "cosign container image signature"},
                                  "optional": None}, separators=(",", ":")).encode()
            return target, payload, key.sign(payload, ec.ECDSA(hashes.SHA256()))

        def upload(blob: bytes) -> dict[str, object]:
            blob_digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            if send("HEAD", f"{base}/blobs/{blob_digest}").status_code != 200:
                started = send("POST", f"{base}/blobs/uploads/")
                location = httpx.URL(started.headers["Location"])
                if not location.is_absolute_url:
                    location = httpx.URL(f"http://{host}").join(location)
                send("PUT", str(location.copy_merge_params({"digest": blob_digest})), content=blob,
                     headers={"Content-Type": "application/octet-stream"}).raise_for_status()
            return {"size": len(blob), "digest": blob_digest}

        def phase3(signed: tuple[str, bytes, bytes]) -> None:
            target, payload, signature = signed
            layer = {"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", **upload(payload),
                     "annotations": {"dev.cosignproject.cosign/signature": base64.b64encode(signature).decode()}}
            config = json.dumps({"architecture": "", "created": "0001-01-01T00:00:00Z", "history": [{}], "os": "",
                                 "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}, "config": {}},
                                separators=(",", ":")).encode()
            manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST,
                                   "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                              **upload(config)},
                                   "layers": [layer]}, separators=(",", ":")).encode()
            assert send("GET", sig_tag(target), headers={"Accept": ACCEPT}).status_code == 404
            send("PUT", sig_tag(target), content=manifest, headers={"Content-Type": MANIFEST}).raise_for_status()
            assert send("GET", sig_tag(target), headers={"Accept": ACCEPT}).content == manifest
            assert send("GET", sig_tag(target), headers={"Accept": ACCEPT}).content == manifest

        with ThreadPoolExecutor(max_workers=int(concurrency)) as pool:
            signed = list(pool.map(phase1, targets))
            list(pool.map(phase3, signed))
    if "--count" in sys.argv:
        print(counted["n"])


if __name__ == "__main__":
    main()
