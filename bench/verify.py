"""``verify`` speed (issue 3), as ratios measured in one run against a local registry (Debian's docker-registry).

1. One key-signed image (legacy ``.sig`` tag scheme), verified in process by digest: the time of
   ``verify_image`` vs the same HTTP requests replayed by a bare ``httpx.Client`` (target <= 1.5x), and the
   request count, counted by an event hook on the client passed in (target for the tag scheme: <= 4).
   The signatures are logged in a local transparency log when made, and verification checks that evidence
   offline (SET and splice checks), as ``verify`` does by default: it costs CPU, not requests.
2. 100 signed images in one ``supplychain verify`` call (concurrent) vs 100 sequential single-image
   invocations: images/s and the ratio; and the same in process (``verify_images`` vs a loop).

Usage: python3 bench/verify.py [RUNS]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/copy.py would shadow the standard library's copy module: run with the repository root on the path
# instead of bench/.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import shutil  # noqa: E402 - after the sys.path fix above
import statistics  # noqa: E402 - after the sys.path fix above
import subprocess  # noqa: E402 - after the sys.path fix above
import tempfile  # noqa: E402 - after the sys.path fix above
import time  # noqa: E402 - after the sys.path fix above

import httpx  # noqa: E402 - after the sys.path fix above

from supplychain.config import Settings  # noqa: E402 - after the sys.path fix above
from supplychain.digest import Digest  # noqa: E402 - after the sys.path fix above
from supplychain.keys import generate_key_pair, write_key_pair  # noqa: E402 - after the sys.path fix above
from supplychain.layout import OciLayout  # noqa: E402 - after the sys.path fix above
from supplychain.reference import parse_image_reference  # noqa: E402 - after the sys.path fix above
from supplychain.registry import RegistryRepository, open_repository  # noqa: E402 - after the sys.path fix above
from supplychain.signing import sign_image  # noqa: E402 - after the sys.path fix above
from supplychain.transfer import copy_image  # noqa: E402 - after the sys.path fix above
from supplychain.verify import TlogPolicy, Verifier, VerifyPolicy, VerifyTarget, verify_image  # noqa: E402 - after the sys.path fix above
from tests.support.fixture import build_fixture_layout  # noqa: E402 - after the sys.path fix above
from tests.support.registry import RegistryProcess  # noqa: E402 - after the sys.path fix above
from tests.support.tlog import InProcessLog  # noqa: E402 - after the sys.path fix above

IMAGES = 100
PASSWORD = b"TEST-ONLY-bench"


def counted_client(sent: list[httpx.Request], answered: list[httpx.Request]) -> httpx.Client:
    """A client whose hooks log every request sent and every request that got a response."""
    return httpx.Client(event_hooks={"request": [sent.append], "response": [lambda r: answered.append(r.request)]},
                        timeout=30)


def open_counted(host: str, repo: str, sent: list[httpx.Request], answered: list[httpx.Request]) -> RegistryRepository:
    client = counted_client(sent, answered)
    return open_repository(parse_image_reference(f"{host}/{repo}"), Settings(), client=client)


def replay(requests: list[httpx.Request]) -> float:
    """The same requests (method, URL, Accept) on a fresh bare client, bodies read: seconds."""
    start = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for request in requests:
            headers = {"Accept": request.headers["Accept"]} if "Accept" in request.headers else {}
            client.request(request.method, request.url, headers=headers).read()
    return time.perf_counter() - start


def kind(request: httpx.Request) -> str:
    path = request.url.path
    if path == "/v2/":
        return "ping"
    if "/referrers/" in path or (path.rsplit("/", 1)[-1].startswith("sha256-") and not path.endswith(".sig")):
        return "referrers"
    if path.endswith(".sig"):
        return "sig-manifest"
    if "/blobs/" in path:
        return "blob"
    return "image-manifest"


def single_image(registry: RegistryProcess, digest: Digest, policy: VerifyPolicy, runs: int) -> None:
    ours: list[float] = []
    bare: list[float] = []
    requests: list[httpx.Request] = []
    sent: list[httpx.Request] = []
    for _ in range(runs):
        requests, sent = [], []
        start = time.perf_counter()
        with open_counted(registry.host, "bench/one", sent, requests) as store:
            result = verify_image(store, digest, policy)
        ours.append(time.perf_counter() - start)
        assert result.verified, result.reasons()
        bare.append(replay(requests))
    kinds = [kind(r) for r in requests]
    tag_scheme = sum(1 for k in kinds if k != "referrers")
    print("1. one key-signed image, in process, by digest")
    if len(sent) != len(requests):
        print(f"   {len(sent) - len(requests)} connection attempt(s) without an answer (HTTPS tried first on "
              "loopback), not replayed")
    print(f"   requests answered: {len(requests)} in all; tag scheme {tag_scheme} (ping, image, .sig manifest, "
          f"payload blob), referrers lookups {kinds.count('referrers')} (API, then the referrers tag)")
    for request, k in zip(requests, kinds, strict=True):
        print(f"     {request.method:4} {request.url.path:100.100} {k}")
    ratio = statistics.median(ours) / statistics.median(bare)
    print(f"   verify {statistics.median(ours) * 1000:.1f} ms vs bare httpx {statistics.median(bare) * 1000:.1f} ms "
          f"(median of {runs}): ratio {ratio:.2f}x (target <= 1.5x)")


def many_images(registry: RegistryProcess, digest: Digest, pub: Path, log_pub: Path, policy: VerifyPolicy) -> None:
    refs = [f"{registry.host}/bench/many{i}@{digest}" for i in range(IMAGES)]
    cli = [sys.executable, "-m", "supplychain", "verify", "--key", str(pub), "--rekor-public-key", str(log_pub)]
    start = time.perf_counter()
    done = subprocess.run([*cli, *refs], capture_output=True, check=False)
    one_call = time.perf_counter() - start
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    start = time.perf_counter()
    for ref in refs:
        subprocess.run([*cli, ref], capture_output=True, check=True)
    sequential = time.perf_counter() - start
    print(f"2. {IMAGES} signed images")
    print(f"   one call (--concurrency 8): {one_call:.2f} s, {IMAGES / one_call:.1f} images/s")
    print(f"   {IMAGES} sequential invocations: {sequential:.2f} s, {IMAGES / sequential:.1f} images/s; "
          f"ratio {sequential / one_call:.1f}x faster in one call")

    def target(i: int) -> VerifyTarget:
        ref = parse_image_reference(refs[i])
        return VerifyTarget(refs[i], digest, lambda: open_repository(ref, Settings()))

    targets = [target(i) for i in range(IMAGES)]
    start = time.perf_counter()
    results = list(Verifier().verify_images(targets, policy, max_workers=8))
    pooled = time.perf_counter() - start
    assert all(r.verified for r in results)
    start = time.perf_counter()
    for t in targets:
        with t.open_store() as store:
            assert verify_image(store, digest, policy).verified
    looped = time.perf_counter() - start
    print(f"   in process: verify_images {pooled:.2f} s ({IMAGES / pooled:.1f} images/s) vs a loop {looped:.2f} s: "
          f"ratio {looped / pooled:.1f}x")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    work = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    registry = RegistryProcess(work / "registry").start()
    tlog = InProcessLog(work / "tlog")
    try:
        layout = OciLayout(build_fixture_layout(work))
        pair = generate_key_pair()
        written = write_key_pair(work / "bench", pair, PASSWORD)
        policy = VerifyPolicy((pair.public_key,), tlog=TlogPolicy(tlog.keyring))
        digest = layout.resolve("single").digest
        with tlog.client() as log:
            for repo in ["bench/one", *(f"bench/many{i}" for i in range(IMAGES))]:
                with open_repository(parse_image_reference(f"{registry.host}/{repo}"), Settings()) as store:
                    copy_image(layout, "single", store, tag="1", with_referrers=False)
                    sign_image(store, store.resolve(digest), pair.private_key,
                               docker_reference=f"{registry.host}/{repo}", log=log)
        single_image(registry, digest, policy, runs)
        many_images(registry, digest, written.public_key, tlog.directory.public_key_path, policy)
    finally:
        tlog.close()
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
