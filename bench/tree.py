"""``supplychain tree`` of an image with 1,000 OCI referrers on a real registry (Debian's docker-registry,
distribution 2.8: no referrers API, so they are listed by the referrers tag), against the data-only replay: a bare
httpx script making only the requests whose answers carry the data the tree shows (the ping, the tag's HEAD, the
image's manifest, the referrers tag's index and each referrer's manifest: 1,004), at the same concurrency
(issue 10, item 3). Whole processes, interleaved, alternating order (``harness``).

Before issue 10 ``tree`` sent 5,008 requests one after the other: per referrer its manifest, the referrers tag of
the referrer and its three cosign tags, all 404 but the first. Now the repository's tags are listed once and only
tags that exist are asked for, and the manifests are read ``--concurrency`` at a time. The request counts of one
run of each side, seen by a counting proxy (``tests/support/tcp_proxy.py``), are printed first.

Usage: python3 bench/tree.py [--referrers N] [--concurrency N] [--rounds N]
       python3 bench/tree.py --replay HOST REPOSITORY TAG CONCURRENCY   (the baseline, run by the bench itself)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
])


def replay(host: str, repository: str, tag: str, concurrency: int) -> None:
    """The data-only replay: the requests that return what the tree shows, nothing else (no probes, no checks)."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    base = f"http://{host}/v2/{repository}"
    headers = {"Accept": MANIFEST_ACCEPT}
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:
        client.get(f"http://{host}/v2/").raise_for_status()
        digest = client.head(f"{base}/manifests/{tag}", headers=headers).headers["Docker-Content-Digest"]
        client.get(f"{base}/manifests/{digest}", headers=headers).raise_for_status()
        index = client.get(f"{base}/manifests/{digest.replace(':', '-')}", headers=headers)
        index.raise_for_status()
        referrers = [entry["digest"] for entry in json.loads(index.content)["manifests"]]

        def get(referrer: str) -> int:
            answer = client.get(f"{base}/manifests/{referrer}", headers=headers)
            answer.raise_for_status()
            return len(answer.content)

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            sum(pool.map(get, referrers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--referrers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--replay", nargs=4, metavar=("HOST", "REPOSITORY", "TAG", "CONCURRENCY"))
    args = parser.parse_args()
    if args.replay:
        host, repository, tag, concurrency = args.replay
        replay(host, repository, tag, int(concurrency))
        return

    from harness import Command, compare, report

    from tests.support.referrers import push_image_with_referrers
    from tests.support.registry import RegistryProcess
    from tests.support.tcp_proxy import CountingProxy

    env = {"PYTHONPATH": str(ROOT), "SUPPLYCHAIN_INSECURE_REGISTRIES": ""}
    with tempfile.TemporaryDirectory(prefix="bench-tree-") as scratch:
        registry = RegistryProcess(Path(scratch) / "registry").start()
        try:
            pushed = push_image_with_referrers(registry.url, "bench/tree", args.referrers)
            concurrency = str(args.concurrency)

            def ours(host: str) -> Command:
                return Command("supplychain tree", [sys.executable, "-m", "supplychain", "tree", "--concurrency",
                                                    concurrency, f"{host}/{pushed.repository}:{pushed.tag}"], env=env)

            def bare(host: str) -> Command:
                return Command("data-only replay", [sys.executable, __file__, "--replay", host, pushed.repository,
                                                    pushed.tag, concurrency], env=env)

            print(f"== tree of an image with {args.referrers} referrers, --concurrency {concurrency}")
            for command in (ours, bare):
                with CountingProxy(registry.url) as proxy:
                    from harness import run_once

                    run_once(command(proxy.host))
                    data = proxy.count(status=200) - proxy.count("HEAD", status=200)
                    print(f"  {command(proxy.host).name:<28} {len(proxy.requests)} requests ({data} returning data), "
                          f"{proxy.http_connections} connections, at most {proxy.max_in_flight} in flight")
            results = compare([ours(registry.host), bare(registry.host)], rounds=args.rounds)
            report(results, ours="supplychain tree", baseline="data-only replay", goal="<= 1.5x")
        finally:
            registry.stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
