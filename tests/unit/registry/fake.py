"""An in-memory OCI distribution API for ``httpx.MockTransport``: just enough registry to drive the client.

Real-server behaviour is covered by the integration tests against the CNCF registry; this fake exists for
what a real server cannot be made to do (faults, hostile answers). Tests inject faults by wrapping
``FakeRegistry.handle`` or by setting its hooks.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, Descriptor, Manifest, build_manifest

_ROUTE = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>blobs/uploads|blobs|manifests|tags|referrers)/?(?P<rest>.*)$")


def error(status: int, code: str, message: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"errors": [{"code": code, "message": message or code.lower().replace("_", " "), "detail": None}]}
    return httpx.Response(status, json=body, headers=headers)


def image(marker: str = "v1") -> Manifest:
    """A small image manifest whose bytes (and digest) depend on ``marker``."""
    layer = Descriptor.for_bytes(MediaType.OCI_LAYER_GZIP, marker.encode())
    return build_manifest(EMPTY_DESCRIPTOR, [layer], annotations={"marker": marker})


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class FakeRegistry:
    """Blobs per repository, manifests by digest and tag, upload sessions, optional referrers API."""

    host: str = "registry.test"
    referrers_api: bool = False
    send_subject_header: bool = False
    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)
    manifests: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    tags: dict[tuple[str, str], str] = field(default_factory=dict)
    uploads: dict[str, bytearray] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    # Called after a manifest PUT under a tag: lets a test play a concurrent writer.
    after_tag_put: Callable[[str, str], None] | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport())

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/v2/":
            return httpx.Response(200, json={}, headers={"Docker-Distribution-API-Version": "registry/2.0"})
        match = _ROUTE.match(path)
        if match is None:
            return httpx.Response(404, text="404 page not found")
        name, kind, rest = match["name"], match["kind"], match["rest"]
        handler = {
            "blobs/uploads": self._uploads,
            "blobs": self._blobs,
            "manifests": self._manifests,
            "tags": self._tags,
            "referrers": self._referrers,
        }[kind]
        return handler(request, name, rest)

    # -- store helpers for tests -----------------------------------------------------------------------

    def put(self, name: str, raw: bytes, media_type: str, tag: str | None = None) -> str:
        digest = sha256(raw)
        self.manifests[(name, digest)] = (raw, media_type)
        if tag:
            self.tags[(name, tag)] = digest
        return digest

    def seen(self, method: str | None = None, contains: str = "") -> list[httpx.Request]:
        return [r for r in self.requests
                if (method is None or r.method == method) and contains in str(r.url)]

    # -- routes -----------------------------------------------------------------------------------------

    def _blobs(self, request: httpx.Request, name: str, digest: str) -> httpx.Response:
        data = self.blobs.get((name, digest))
        if data is None:
            return httpx.Response(404) if request.method == "HEAD" else error(404, "BLOB_UNKNOWN")
        headers = {"Docker-Content-Digest": digest, "Content-Length": str(len(data))}
        if request.method == "HEAD":
            return httpx.Response(200, headers=headers)
        return httpx.Response(200, content=data, headers=headers)

    def _uploads(self, request: httpx.Request, name: str, session: str) -> httpx.Response:
        if request.method == "POST":
            mount, source = request.url.params.get("mount"), request.url.params.get("from")
            if mount and source and (source, mount) in self.blobs:
                self.blobs[(name, mount)] = self.blobs[(source, mount)]
                return httpx.Response(201, headers={"Docker-Content-Digest": mount,
                                                    "Location": f"/v2/{name}/blobs/{mount}"})
            new = uuid.uuid4().hex
            self.uploads[new] = bytearray()
            return httpx.Response(202, headers={"Location": f"/v2/{name}/blobs/uploads/{new}?_state=s{new}",
                                                "Range": "0-0"})
        buffer = self.uploads.get(session)
        if buffer is None:
            return error(404, "BLOB_UPLOAD_UNKNOWN")
        if request.method == "DELETE":
            del self.uploads[session]
            return httpx.Response(204)
        if request.url.params.get("_state") != f"s{session}":
            return error(400, "BLOB_UPLOAD_INVALID", "lost state")
        if request.method == "PATCH":
            start, _, end = request.headers["Content-Range"].partition("-")
            if int(start) != len(buffer) or int(end) != len(buffer) + len(request.content) - 1:
                return httpx.Response(416)
            buffer += request.content
            return httpx.Response(202, headers={"Location": f"/v2/{name}/blobs/uploads/{session}?_state=s{session}",
                                                "Range": f"0-{len(buffer) - 1}"})
        if request.method == "PUT":
            buffer += request.read()
            digest = request.url.params["digest"]
            if sha256(bytes(buffer)) != digest:
                return error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
            self.blobs[(name, digest)] = bytes(buffer)
            del self.uploads[session]
            return httpx.Response(201, headers={"Docker-Content-Digest": digest,
                                                "Location": f"/v2/{name}/blobs/{digest}"})
        return httpx.Response(405)

    def _manifests(self, request: httpx.Request, name: str, ref: str) -> httpx.Response:
        if request.method == "PUT":
            raw = request.read()
            digest = self.put(name, raw, request.headers["Content-Type"], None if ":" in ref else ref)
            if ":" not in ref and self.after_tag_put is not None:
                self.after_tag_put(name, ref)
            headers = {"Docker-Content-Digest": digest, "Location": f"/v2/{name}/manifests/{digest}"}
            subject = json.loads(raw).get("subject")
            if self.send_subject_header and subject:
                headers["OCI-Subject"] = subject["digest"]
            return httpx.Response(201, headers=headers)
        digest = ref if ":" in ref else self.tags.get((name, ref))
        stored = self.manifests.get((name, digest)) if digest else None
        if stored is None or digest is None:
            return httpx.Response(404) if request.method == "HEAD" else error(404, "MANIFEST_UNKNOWN")
        if request.method == "DELETE":
            del self.manifests[(name, digest)]
            for key in [k for k, v in self.tags.items() if k[0] == name and v == digest]:
                del self.tags[key]
            return httpx.Response(202)
        raw, media_type = stored
        headers = {"Docker-Content-Digest": digest, "Content-Type": media_type, "Content-Length": str(len(raw))}
        if request.method == "HEAD":
            return httpx.Response(200, headers=headers)
        return httpx.Response(200, content=raw, headers=headers)

    def _tags(self, request: httpx.Request, name: str, rest: str) -> httpx.Response:
        tags = sorted(t for (n, t) in self.tags if n == name)
        if not tags and not any(n == name for (n, _) in self.manifests):
            return error(404, "NAME_UNKNOWN", "repository name not known to registry")
        return httpx.Response(200, json={"name": name, "tags": tags})

    def _referrers(self, request: httpx.Request, name: str, subject: str) -> httpx.Response:
        if not self.referrers_api:
            return httpx.Response(404, text="404 page not found")
        entries = []
        for (repo, digest), (raw, media_type) in self.manifests.items():
            doc = json.loads(raw)
            if repo == name and (doc.get("subject") or {}).get("digest") == subject:
                entry = {"mediaType": media_type, "digest": digest, "size": len(raw)}
                kind = doc.get("artifactType") or doc.get("config", {}).get("mediaType")
                if kind:
                    entry["artifactType"] = kind
                wanted = request.url.params.get("artifactType")
                if wanted and kind != wanted:
                    continue
                entries.append(entry)
        body = {"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": entries}
        return httpx.Response(200, json=body, headers={"Content-Type": MediaType.OCI_INDEX})
