"""An image with many OCI referrers on a real registry without the referrers API, pushed fast: raw distribution API
requests (no per-referrer read-append-put of the referrers tag), then the referrers tag (distribution spec 1.1
"Referrers tag schema") written once, listing them all, as a client keeping it would have left it.

Shared by the counting tests of ``tree`` and ``bench/tree.py``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import httpx

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
ARTIFACT_TYPE = "application/vnd.example.note"


@dataclass(frozen=True)
class Pushed:
    """What ``push_image_with_referrers`` pushed: the image's tag and digest, and each referrer's digest."""

    repository: str
    tag: str
    digest: str
    referrers: tuple[str, ...]


def _blob(client: httpx.Client, base: str, repository: str, data: bytes) -> dict[str, object]:
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    started = client.post(f"{base}/v2/{repository}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = httpx.URL(base).join(started.headers["Location"])
    done = client.put(location.copy_merge_params({"digest": digest}), content=data,
                      headers={"Content-Type": "application/octet-stream"})
    assert done.status_code == 201, done.text
    return {"digest": digest, "size": len(data)}


def _manifest(client: httpx.Client, base: str, repository: str, reference: str, doc: dict[str, object],
              media_type: str = MANIFEST) -> dict[str, object]:
    raw = json.dumps(doc, separators=(",", ":")).encode()
    answer = client.put(f"{base}/v2/{repository}/manifests/{reference}", content=raw,
                        headers={"Content-Type": media_type})
    assert answer.status_code == 201, answer.text
    return {"mediaType": media_type, "digest": f"sha256:{hashlib.sha256(raw).hexdigest()}", "size": len(raw)}


def push_image_with_referrers(base: str, repository: str, count: int, *, tag: str = "app") -> Pushed:
    """Push a small image tagged ``tag`` to ``base`` (``http://host:port``) and ``count`` artifacts whose subject
    it is (each its own manifest, one shared payload blob), then their referrers tag."""
    with httpx.Client(timeout=60) as client:
        config = {"mediaType": "application/vnd.oci.image.config.v1+json",
                  **_blob(client, base, repository,
                          b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')}
        layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", **_blob(client, base, repository, b"layer")}
        subject = _manifest(client, base, repository, tag,
                            {"schemaVersion": 2, "mediaType": MANIFEST, "config": config, "layers": [layer]})
        empty = {"mediaType": EMPTY, **_blob(client, base, repository, b"{}")}
        payload = {"mediaType": "text/plain", **_blob(client, base, repository, b"a note")}
        listed = []
        for n in range(count):
            annotations = {"org.example.n": str(n)}
            doc = {"schemaVersion": 2, "mediaType": MANIFEST, "artifactType": ARTIFACT_TYPE, "config": empty,
                   "layers": [payload], "subject": subject, "annotations": annotations}
            raw = json.dumps(doc, separators=(",", ":")).encode()
            digest = f"sha256:{hashlib.sha256(raw).hexdigest()}"
            desc = _manifest(client, base, repository, digest, doc)
            listed.append({**desc, "artifactType": ARTIFACT_TYPE, "annotations": annotations})
        referrers_tag = str(subject["digest"]).replace(":", "-")
        _manifest(client, base, repository, referrers_tag,
                  {"schemaVersion": 2, "mediaType": INDEX, "manifests": listed}, INDEX)
    return Pushed(repository, tag, str(subject["digest"]), tuple(str(d["digest"]) for d in listed))
