"""``supplychain sign --recursive --key K REF`` over a 20-platform index in the real registry (Debian's
docker-registry on a free loopback port), against the bare replay of its requests (``bench/sign_replay.py``: httpx
and cryptography, the same requests and ECDSA signatures at the same concurrency), whole processes through
``bench/harness.py`` (issue 10, item 6: goal <= 1.5x).

Both sides sign with the same unencrypted PEM key (no scrypt for either) and log nothing (``--tlog-upload=false``;
the embedded log is one SQLite commit per entry, timed by ``bench/tlog.py``); each run signs a fresh copy of the
index, pushed to a repository of its own before the run (untimed), so every run uploads every signature.
Before the comparison the script runs ``sign`` once with ``--debug`` and prints its requests by method beside the
replay's count, so the two are seen to make the same requests.

Needs Debian's docker-registry. Usage: python3 bench/sign.py [ROUNDS] [PLATFORMS]
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from harness import Command, compare, report  # noqa: E402

from supplychain.config import Settings  # noqa: E402
from supplychain.reference import parse_image_reference  # noqa: E402
from supplychain.registry import open_repository  # noqa: E402
from tests.support.images import put_platform_index  # noqa: E402
from tests.support.registry import RegistryProcess  # noqa: E402

IDENTITY = "bench.example/app"
CONCURRENCY = 4


def write_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    platforms = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with tempfile.TemporaryDirectory(prefix="bench-sign-") as tmp:
        root = Path(tmp)
        registry = RegistryProcess(root / "registry").start()
        try:
            run(registry, root, rounds, platforms)
        finally:
            registry.stop()


def run(registry: RegistryProcess, root: Path, rounds: int, platforms: int) -> None:
    key = root / "bench.pem"
    write_key(key)
    settings = Settings(docker_config_dir=root)
    numbers = itertools.count()
    env = {"DOCKER_CONFIG": str(root), "SUPPLYCHAIN_PASSWORD": "", "XDG_DATA_HOME": str(root / "data"),
           "PYTHONPATH": str(HERE.parent)}

    def fresh_index() -> tuple[str, str]:
        repository = f"bench/sign-{next(numbers)}"
        with open_repository(parse_image_reference(f"{registry.host}/{repository}"), settings) as store:
            index, _ = put_platform_index(store, platforms)
        return repository, str(index.digest)

    def ours_argv(repository: str, digest: str, *extra: str) -> list[str]:
        return [sys.executable, "-m", "supplychain", *extra, "sign", "--recursive", "--key", str(key),
                "--tlog-upload=false", "--concurrency", str(CONCURRENCY), "--reference-name", IDENTITY,
                f"{registry.host}/{repository}@{digest}"]

    def replay_argv(repository: str, digest: str, *extra: str) -> list[str]:
        return [sys.executable, str(HERE / "sign_replay.py"), registry.host, repository, digest, str(key), IDENTITY,
                str(CONCURRENCY), *extra]

    # The requests of each side, once.
    repository, digest = fresh_index()
    debug = subprocess.run(ours_argv(repository, digest, "--debug"), env=env_with(env), cwd=HERE.parent,
                           capture_output=True, text=True, check=True)
    ours = Counter(re.findall(r"> (GET|HEAD|PUT|POST|PATCH|DELETE) (https?)://", debug.stderr))
    repository, digest = fresh_index()
    replayed = subprocess.run(replay_argv(repository, digest, "--count"), env=env_with(env), capture_output=True,
                              text=True, check=True)
    print(f"sign --recursive over {platforms} platforms + the index: requests by method "
          f"{dict(sorted((f'{m} {s}', n) for (m, s), n in ours.items()))}; "
          f"over http {sum(n for (_, s), n in ours.items() if s == 'http')}, replay {replayed.stdout.strip()}")

    def refreshed(build: Callable[[str, str], list[str]]) -> tuple[list[str], Callable[[], None]]:
        """An argv for a fresh index, and the set-up that points it at another fresh one before each run (the
        harness reads the argv after the set-up)."""
        args = build(*fresh_index())

        def prepare() -> None:
            args[:] = build(*fresh_index())
        return args, prepare

    ours_args, ours_before = refreshed(ours_argv)
    replay_args, replay_before = refreshed(replay_argv)
    # cwd: ``-m supplychain`` puts it first on sys.path, so this tree is what runs wherever the script starts.
    commands = [Command("supplychain sign -r", ours_args, env=env, cwd=HERE.parent, before=ours_before),
                Command("bare replay", replay_args, env=env, before=replay_before)]
    results = compare(commands, rounds=rounds)
    report(results, ours="supplychain sign -r", baseline="bare replay", goal="<= 1.5x",
           title=f"sign --recursive, {platforms} platforms, --concurrency {CONCURRENCY}, no log")


def env_with(extra: dict[str, str]) -> dict[str, str]:
    import os

    return {**os.environ, **extra}


if __name__ == "__main__":
    main()
