"""A hostile registry whose referrers API pages forever (issue 7.3): ``verify`` and ``tree`` stop collecting at the
documented cap (``SUPPLYCHAIN_MAX_REFERRERS``), as the listing streams, and say that the listing was cut.

The server is a small HTTP server in the test process (a real registry cannot be made to page forever). Each page
answers 9,000 new referrer descriptors and a ``Link: next``; it refuses to serve more than ``MAX_PAGES_SERVED``
pages (500), so a client that follows the links without a cap fails the test at once instead of running for hours.
"""

from __future__ import annotations

import json
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from supplychain import keys
from supplychain.digest import Digest
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR
from tests.support.signatures import run_cli

pytestmark = pytest.mark.integration

PER_PAGE = 9_000
MAX_PAGES_SERVED = 5
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def _json(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


IMAGE = _json({"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST,
               "config": {"mediaType": MediaType.OCI_CONFIG, "digest": str(Digest.of(b"{}")), "size": 2},
               "layers": []})
IMAGE_DIGEST = Digest.of(IMAGE)
EMPTY_INDEX = _json({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": []})


@dataclass
class EndlessReferrers:
    """The server's state: the referrer manifests it has listed (by digest) and the pages it served."""

    port: int = 0
    pages: int = 0
    per_page: int = PER_PAGE
    endless: bool = True  # False: one page, no next link (the benign control)
    manifests: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def page(self, number: int) -> bytes:
        descriptors = []
        for i in range(self.per_page):
            raw = _json({"schemaVersion": 2, "mediaType": MediaType.OCI_MANIFEST, "artifactType": BUNDLE_TYPE,
                         "config": EMPTY_DESCRIPTOR.to_json(), "layers": [],
                         "subject": {"mediaType": MediaType.OCI_MANIFEST, "digest": str(IMAGE_DIGEST),
                                     "size": len(IMAGE)},
                         "annotations": {"n": f"{number}-{i}"}})
            digest = str(Digest.of(raw))
            with self.lock:
                self.manifests[digest] = raw
            descriptors.append({"mediaType": MediaType.OCI_MANIFEST, "digest": digest, "size": len(raw),
                                "artifactType": BUNDLE_TYPE})
        return _json({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": descriptors})


def _handler(state: EndlessReferrers) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status == 200 and content_type != "application/json":
                self.send_header("Docker-Content-Digest", str(Digest.of(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _unknown(self) -> None:
            self._send(404, _json({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}))

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/v2/":
                self._send(200, b"{}")
            elif url.path.startswith("/v2/evil/manifests/"):
                ref = url.path.rsplit("/", 1)[1]
                if ref in ("latest", str(IMAGE_DIGEST)):
                    self._send(200, IMAGE, MediaType.OCI_MANIFEST)
                elif ref in state.manifests:
                    self._send(200, state.manifests[ref], MediaType.OCI_MANIFEST)
                else:
                    self._unknown()
            elif url.path == f"/v2/evil/blobs/{Digest.of(b'{}')}":  # the image's config, the artifacts' empty one
                self._send(200, b"{}", "application/octet-stream")
            elif url.path.startswith("/v2/evil/referrers/"):
                if url.path.rsplit("/", 1)[1] != str(IMAGE_DIGEST):
                    self._send(200, EMPTY_INDEX, MediaType.OCI_INDEX)
                    return
                number = int(parse_qs(url.query).get("page", ["1"])[0])
                with state.lock:
                    state.pages += 1
                    served = state.pages
                if served > MAX_PAGES_SERVED:
                    self._send(500, _json({"errors": [{"code": "UNKNOWN", "message": "test: too many pages"}]}))
                    return
                link = f'</v2/evil/referrers/{IMAGE_DIGEST}?page={number + 1}>; rel="next"'
                self._send(200, state.page(number), MediaType.OCI_INDEX, {"Link": link} if state.endless else {})
            else:
                self._unknown()

    return Handler


@pytest.fixture
def endless() -> Iterator[EndlessReferrers]:
    state = EndlessReferrers()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _run(endless: EndlessReferrers, *args: str, env: dict[str, str | None] | None = None) -> tuple[Any, float, int]:
    """The CLI in this process; its result, seconds taken and the peak of Python allocations (bytes)."""
    host = f"127.0.0.1:{endless.port}"
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = run_cli([*args, "--insecure-registry", host],
                         env={"SUPPLYCHAIN_RETRIES": "0", "SUPPLYCHAIN_REKOR_URL": None, **(env or {})})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, time.monotonic() - started, peak


def test_verify_stops_collecting_an_endless_referrers_listing(endless: EndlessReferrers, tmp_path: Path):
    pub = tmp_path / "cosign.pub"
    pub.write_bytes(keys.generate_key_pair("ecdsa-p256").public_key.pem())
    result, seconds, peak = _run(endless, "verify", f"127.0.0.1:{endless.port}/evil@{IMAGE_DIGEST}",
                                 "--key", str(pub), "--insecure-ignore-tlog")
    assert result.code == 1, result  # verification failed: an answer, not an error
    assert endless.pages == 1  # 9,000 on the first page already pass the 1,000 cap: no second page asked for
    assert f"the referrers listing of 127.0.0.1:{endless.port}/evil@{IMAGE_DIGEST} was cut at 1000 descriptors" \
        in result.stderr
    assert "found 1000 signatures (0 in" in result.stderr and "none was read" in result.stderr
    assert seconds < 30 and peak < 64 * 1024 * 1024


def test_tree_stops_collecting_an_endless_referrers_listing(endless: EndlessReferrers):
    reference = f"127.0.0.1:{endless.port}/evil@{IMAGE_DIGEST}"
    result, seconds, peak = _run(endless, "tree", reference, "-o", "json", env={"SUPPLYCHAIN_MAX_REFERRERS": "25"})
    assert result.code == 0, result
    assert endless.pages == 1
    tree = json.loads(result.stdout)
    assert len(tree["children"]) == 25
    assert tree["referrersCut"].startswith(f"the referrers listing of 127.0.0.1:{endless.port}/evil@")
    assert result.stderr.startswith(f"warning: the referrers listing of 127.0.0.1:{endless.port}/evil@")
    assert "was cut at 25 descriptors" in result.stderr
    assert seconds < 30 and peak < 64 * 1024 * 1024


def test_a_listing_under_the_cap_is_not_cut(endless: EndlessReferrers):
    # The benign control: a listing that ends (no next link) under the cap is shown whole, with no warning.
    endless.endless, endless.per_page = False, 30
    reference = f"127.0.0.1:{endless.port}/evil@{IMAGE_DIGEST}"
    result, _, _ = _run(endless, "tree", reference, "-o", "json")
    assert result.code == 0, result
    tree = json.loads(result.stdout)
    assert len(tree["children"]) == 30 and "referrersCut" not in tree
    assert "warning" not in result.stderr


def test_copy_of_a_cut_listing_says_what_it_left_out(endless: EndlessReferrers, tmp_path: Path):
    """A copy that could not list every referrer is never reported complete: the referrers past the cap were
    not copied, and the copy says so (exit 7) instead of exiting 0."""
    reference = f"127.0.0.1:{endless.port}/evil@{IMAGE_DIGEST}"
    result, seconds, _ = _run(endless, "copy", reference, f"oci:{tmp_path / 'dst'}:v1",
                              env={"SUPPLYCHAIN_MAX_REFERRERS": "5"})
    assert result.code == 7, result
    assert f"referrers of {IMAGE_DIGEST}: not all copied: the referrers listing of" in result.stderr
    assert "hint: " in result.stderr and endless.pages == 1 and seconds < 30
    # What was listed was copied: the image and its five referrers are in the layout.
    tree = run_cli(["tree", "-o", "json", f"oci:{tmp_path / 'dst'}:v1"])
    assert len(json.loads(tree.stdout)["children"]) == 5
