"""``supplychain verify --key`` as a user runs it, whole processes, against a bare httpx + cryptography script
(``bench/verify_bare.py``) doing the same requests and checks, in the same run (issue 10, item 6).

Set-up (untimed): Debian's docker-registry on a free 127.0.0.1 port (``tests.support.registry``), the fixture image
copied to ``bench/one`` and ``bench/many0..99``, each signed with a generated key and logged in the default log (a
private ``XDG_DATA_HOME``), as ``sign`` does with no log flags; ``verify`` then checks the SET offline against that
log's key, and so does the bare script.

1. One image: ``supplychain verify --key K HOST/bench/one:1`` vs the bare script; goal <= 1.5x.
2. 100 images in one call, ``--concurrency 8``, vs the bare script on 8 threads; images/s; goal >= 0.7x.

``bench/harness.py`` measures (interleaved rounds, alternating order, medians with min/max, peak RSS). The bare
script pings ``/v2/`` once per registry and skips the HTTPS attempt our verify makes first on a loopback registry
(one failed TLS handshake per image today: one probe per registry is issue 10, item 2).

Usage: python3 bench/verify.py [ROUNDS] [IMAGES]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from harness import Command, compare, report

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent))

from supplychain.config import Settings  # noqa: E402 - after the sys.path insert above
from supplychain.keys import generate_key_pair, write_key_pair  # noqa: E402 - after the sys.path insert above
from supplychain.layout import OciLayout  # noqa: E402 - after the sys.path insert above
from supplychain.reference import parse_image_reference  # noqa: E402 - after the sys.path insert above
from supplychain.registry import open_repository  # noqa: E402 - after the sys.path insert above
from supplychain.signing import sign_image  # noqa: E402 - after the sys.path insert above
from supplychain.tlog.server.embedded import EmbeddedLog  # noqa: E402 - after the sys.path insert above
from supplychain.transfer import copy_image  # noqa: E402 - after the sys.path insert above
from tests.support.fixture import build_fixture_layout  # noqa: E402 - after the sys.path insert above
from tests.support.registry import RegistryProcess  # noqa: E402 - after the sys.path insert above

PASSWORD = b"TEST-ONLY-bench"
CONCURRENCY = 8


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    images = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    work = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    registry = RegistryProcess(work / "registry").start()
    try:
        data_home = work / "data"
        log = EmbeddedLog(data_home / "supplychain" / "tlog")  # the default log of XDG_DATA_HOME=data_home
        layout = OciLayout(build_fixture_layout(work))
        pair = generate_key_pair("ecdsa-p256")
        written = write_key_pair(work / "bench", pair, PASSWORD)
        digest = layout.resolve("single").digest
        repos = ["bench/one", *(f"bench/many{i}" for i in range(images))]
        for repo in repos:
            with open_repository(parse_image_reference(f"{registry.host}/{repo}"), Settings()) as store:
                copy_image(layout, "single", store, tag="1", with_referrers=False)
                sign_image(store, store.resolve(digest), pair.private_key,
                           docker_reference=f"{registry.host}/{repo}", log=log)
        env = {"XDG_DATA_HOME": str(data_home), "PYTHONPATH": str(_HERE.parent)}
        ours = [sys.executable, "-m", "supplychain", "verify", "--key", str(written.public_key)]
        bare = [sys.executable, str(_HERE / "verify_bare.py"), "--key", str(written.public_key),
                "--log-key", str(log.public_key_path)]

        one = f"{registry.host}/bench/one:1"
        results = compare([Command("bare httpx + cryptography", [*bare, one], env=env),
                           Command("supplychain verify", [*ours, one], env=env)], rounds=rounds)
        report(results, ours="supplychain verify", baseline="bare httpx + cryptography", goal="<= 1.5x",
               title="1. one key-signed image (.sig tag, SET checked offline), whole process")

        refs = [f"{registry.host}/bench/many{i}:1" for i in range(images)]
        many = compare([
            Command(f"bare, {CONCURRENCY} threads", [*bare, "--concurrency", str(CONCURRENCY), *refs], env=env),
            Command(f"verify --concurrency {CONCURRENCY}", [*ours, "--concurrency", str(CONCURRENCY), *refs],
                    env=env),
        ], rounds=max(3, rounds // 2))
        print(f"== 2. {images} images in one call")
        for samples in many.values():
            print(f"  {samples.line()}; {images / samples.median:.1f} images/s")
        ours_rate = images / many[f"verify --concurrency {CONCURRENCY}"].median
        bare_rate = images / many[f"bare, {CONCURRENCY} threads"].median
        print(f"  images/s supplychain / bare: {ours_rate / bare_rate:.2f}x (goal >= 0.7x)")
    finally:
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
