"""``supplychain tlog serve`` durable appends from concurrent client processes, against bare SQLite commits on the
same file system, measured in the same run (issue 10, item 5: >= 1.0x).

    python bench/tlog.py [--clients 8] [--count 4000] [--rounds 5]

What is compared, each round:

* **ours**: a real ``supplychain tlog serve`` process on a free loopback port (a fresh log each round) and
  ``--clients`` client *processes*, each on its own keep-alive connection, posting real hashedrekord proposals
  (``POST /api/v1/log/entries``) until ``--count`` entries in all are acknowledged ``201``. Each 201 means the
  entry is committed with ``synchronous=FULL`` (durable) and carries its SET and inclusion proof. The proposals are
  signed ahead of the round by this script (``HashedRekord`` of our library), and the clients write pre-built
  requests on raw sockets, so neither signing nor ``http.client`` on the client side is what is measured.
* **baseline**: one process doing ``--count`` single-row transactions (``BEGIN IMMEDIATE``, one ``INSERT``,
  ``COMMIT``) in WAL mode with ``synchronous=FULL`` on a database in the same directory as the log, with rows the
  size of a stored entry: the rate of durable commits the disk gives one writer.

* **ceiling** (printed beside, not the goal's baseline): ``bench/tlog_ceiling.py``, a Python server doing only
  the work no Rekor-style log can skip per append (the proposal's ECDSA check, the canonical body and leaf hash,
  the SET, group commit with ``synchronous=FULL``, a checkpoint signature per batch, a JSON answer), against the
  same clients: the most a single-process Python server reaches on this machine. Each server's CPU per entry is
  printed too.

Every side starts its clock the same way: every process is started and ready (connected, or database open), then
released together through its stdin; the time runs until the last of them reports done. Rounds are interleaved,
the order alternating between rounds (``harness.compare``'s rule), and the figures are medians with min and max,
plus the server's peak RSS (VmHWM). After the last round, a sample of the acknowledged entries is fetched back and
verified (SET, inclusion proof, checkpoint) with our client, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL = ">= 1.0x"


# -- the client and baseline processes ---------------------------------------------------------------------------


def run_client(port: int, bodies_path: Path, count: int) -> None:
    """A client process: connect, say ``ready``, wait for ``go`` on stdin, post ``count`` requests, say ``done``."""
    bodies = bodies_path.read_bytes().split(b"\n")[:count]
    requests = [
        b"POST /api/v1/log/entries HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        for body in bodies
    ]
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = sock.makefile("rb")
    print("ready", flush=True)
    sys.stdin.readline()
    cpu = time.process_time()
    for request in requests:
        sock.sendall(request)
        status = reader.readline()
        length = 0
        while True:
            line = reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        body = reader.read(length)
        if not status.startswith(b"HTTP/1.1 201 "):
            raise SystemExit(f"append answered {status!r}: {body[:300]!r}")
    print(f"done {time.process_time() - cpu}", flush=True)  # the CPU this client used while timed
    sock.close()


def run_baseline(database: Path, count: int, row_size: int) -> None:
    """The baseline process: ``count`` single-row WAL ``synchronous=FULL`` commits, released like a client."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("CREATE TABLE entries (log_index INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    body = os.urandom(row_size)
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(count):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO entries (body) VALUES (?)", (body,))
        connection.execute("COMMIT")
    print("done", flush=True)
    connection.close()


# -- orchestration -----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def released_together(argvs: list[list[str]]) -> tuple[float, float]:
    """Start every process, wait until each says ``ready``, release them all; seconds until the last says done, and
    the CPU seconds the processes say they used while timed (``done CPU``; 0 for a process that says ``done``)."""
    processes = [subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO, env=env())
                 for argv in argvs]
    try:
        for process in processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != b"ready":
                raise RuntimeError(f"{argvs[0][:4]} did not get ready")
        started = time.perf_counter()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            process.stdin.flush()
        cpu = 0.0
        for process in processes:
            assert process.stdout is not None
            said, *used = process.stdout.readline().split()
            if said != b"done":
                raise RuntimeError(f"{' '.join(argvs[0][:4])} failed (exit {process.wait()})")
            cpu += float(used[0]) if used else 0.0
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            if process.stdin is not None:
                process.stdin.close()
            if process.wait(30) != 0:
                raise RuntimeError(f"{' '.join(argvs[0][:4])} exited {process.returncode}")
            if process.stdout is not None:
                process.stdout.close()
    return elapsed, cpu


@dataclass
class Server:
    """``supplychain tlog serve`` of ``directory`` on a free loopback port (``tlog init`` first, unless it holds a
    log already)."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        import httpx

        if not (self.directory / "config.json").exists():
            subprocess.run([sys.executable, "-m", "supplychain", "tlog", "init", "--dir", str(self.directory)],
                           check=True, capture_output=True, cwd=REPO, env=env())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "supplychain", "tlog", "serve", "--dir", str(self.directory), "--addr",
             f"127.0.0.1:{self.port}", "--quiet"],
            cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tlog serve exited {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/api/v1/log", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("tlog serve did not start")

    def peak_rss(self) -> int:
        """The server's VmHWM so far (bytes)."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        """SIGTERM: a clean stop (exit 0), which commits whatever is still queued."""
        assert self.process is not None
        self.process.terminate()
        if self.process.wait(30) != 0:
            raise RuntimeError(f"tlog serve exited {self.process.returncode}")


def prepare(workdir: Path, clients: int, count: int, rounds: int) -> tuple[list[list[Path]], int]:
    """Sign the proposals of every round ahead (one file of request bodies per client per round); and the size of
    a stored row (the canonical body plus its SET, about what the log stores per entry)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    from supplychain.formats.rekor import HashedRekord
    from supplychain.tlog.kind import canonicalize

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    per_client = -(-count // clients)
    files: list[list[Path]] = []
    for round_ in range(rounds + 1):  # and a warm-up round
        paths = []
        for client in range(clients):
            lines = []
            for n in range(per_client):
                digest = hashlib.sha256(b"bench %d %d %d %s" % (round_, client, n, os.urandom(8))).digest()
                signature = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
                lines.append(json.dumps(HashedRekord("sha256", digest, signature, pem).proposed_entry()).encode())
            path = workdir / f"bodies-{round_}-{client}.jsonl"
            path.write_bytes(b"\n".join(lines))
            paths.append(path)
        files.append(paths)
    row_size = len(canonicalize(json.loads(lines[0])).body) + 72  # an ECDSA P-256 SET is at most 72 bytes
    return files, row_size


def process_cpu(pid: int) -> float:
    """Seconds of CPU (user and system, every thread) the process ``pid`` used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clients(port: int, bodies: list[Path], count: int) -> list[list[str]]:
    per_client = -(-count // len(bodies))
    return [[sys.executable, __file__, "client", str(port), str(path), str(per_client)] for path in bodies]


@dataclass(frozen=True)
class Round:
    """One side's round: wall seconds; the server's CPU seconds and the clients' (while timed); server peak RSS."""

    seconds: float
    server_cpu: float = 0.0
    clients_cpu: float = 0.0
    peak_rss: int = 0


def ours(workdir: Path, name: str, bodies: list[Path], count: int) -> tuple[Round, Path]:
    """One round of ours: a fresh log served, the clients released together; the round and the log."""
    server = Server(workdir / name).start()
    assert server.process is not None
    try:
        before = process_cpu(server.process.pid)
        seconds, clients_cpu = released_together(clients(server.port, bodies, count))
        done = Round(seconds, process_cpu(server.process.pid) - before, clients_cpu, server.peak_rss())
    finally:
        server.stop()
    return done, server.directory


def ceiling(workdir: Path, name: str, bodies: list[Path], count: int) -> Round:
    """One round of the ceiling server (``tlog_ceiling.py``) against the same clients."""
    port = free_port()
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("tlog_ceiling.py")), str(port),
                               str(workdir / f"{name}.db")], stdout=subprocess.PIPE, cwd=REPO, env=env())
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != b"serving":
            raise RuntimeError(f"tlog_ceiling.py exited {server.wait()}")
        before = process_cpu(server.pid)
        seconds, clients_cpu = released_together(clients(port, bodies, count))
        return Round(seconds, process_cpu(server.pid) - before, clients_cpu)
    finally:
        server.kill()
        server.wait()


def baseline(workdir: Path, name: str, count: int, row_size: int) -> Round:
    """One round of the baseline, on a fresh database beside the logs."""
    seconds, _ = released_together([[sys.executable, __file__, "baseline", str(workdir / f"{name}.db"),
                                      str(count), str(row_size)]])
    return Round(seconds)


def check_entries(directory: Path, count: int) -> None:
    """Serve the last round's log again and check it: it holds every acknowledged entry (``count``), and a sample of
    them, fetched back, verifies (SET, inclusion proof, checkpoint) with our client and the log's key."""
    import httpx

    from supplychain.tlog.client import RekorClient
    from supplychain.trust.keyring import public_key_keyring

    server = Server(directory).start()
    try:
        keyring = public_key_keyring((directory / "log.pub").read_bytes(), server.url)
        with RekorClient(server.url, keyring, client=httpx.Client(timeout=10)) as client:
            size = client.log_info().checkpoint.size
            if size != count:
                raise RuntimeError(f"the log holds {size} entries, {count} were acknowledged")
            sample = sorted({0, size - 1, *range(0, size, max(1, size // 50))})
            for index in sample:
                client.get_entry_by_index(index)
    finally:
        server.stop()
    print(f"  checked: the last log holds the {size} acknowledged entries; {len(sample)} of them fetched back and "
          "verified (SET, inclusion proof, checkpoint)")


def rate_line(name: str, count: int, seconds: list[float], extra: str = "") -> str:
    rates = [count / s for s in seconds]
    return (f"  {name:<34} median {statistics.median(rates):7.0f} entries/s  (min {min(rates):.0f}, "
            f"max {max(rates):.0f}, n={len(rates)}){extra}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        run_client(int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "baseline":
        run_baseline(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    parser.add_argument("--count", type=int, default=4000, help="entries per round (both sides)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where the logs and the baseline database go (default: a temporary directory)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; {args.clients} client processes, "
          f"{args.count} entries per round, {args.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="bench-tlog-", dir=args.dir) as temp:
        workdir = Path(temp)
        print("signing the proposals ahead ...", flush=True)
        files, row_size = prepare(workdir, args.clients, args.count, args.rounds)
        count = -(-args.count // args.clients) * args.clients
        ours(workdir, "warmup", files[0], count)
        baseline(workdir, "warmup", count, row_size)
        rounds: dict[str, list[Round]] = {"ours": [], "ceiling": [], "baseline": []}
        last: Path | None = None
        for round_ in range(args.rounds):
            sides = list(rounds)
            for side in sides if round_ % 2 == 0 else reversed(sides):
                if side == "ours":
                    done, last = ours(workdir, f"log-{round_}", files[round_ + 1], count)
                elif side == "ceiling":
                    done = ceiling(workdir, f"ceiling-{round_}", files[round_ + 1], count)
                else:
                    done = baseline(workdir, f"bare-{round_}", count, row_size)
                rounds[side].append(done)
        print(f"== tlog serve, durable appends from {args.clients} client processes vs bare SQLite "
              f"synchronous=FULL single-row commits ({row_size}-byte rows), same directory")

        def seconds(side: str) -> list[float]:
            return [done.seconds for done in rounds[side]]

        def per_entry(side: str, what: str) -> float:  # median CPU microseconds per entry
            return statistics.median(getattr(done, what) for done in rounds[side]) / count * 1e6

        rss = max(done.peak_rss for done in rounds["ours"])
        for side, label in (("ours", "tlog serve (201 = durable)"), ("ceiling", "ceiling (tlog_ceiling.py)")):
            print(rate_line(label, count, seconds(side),
                            (f", server peak RSS {rss / 2**20:.1f} MiB" if side == "ours" else "")
                            + f", CPU us/entry: server {per_entry(side, 'server_cpu'):.0f}, "
                              f"clients {per_entry(side, 'clients_cpu'):.0f}"))
        print(rate_line("bare SQLite, 1 row per commit", count, seconds("baseline")))
        bare = statistics.median(seconds("baseline"))
        print(f"  ratio tlog serve / bare SQLite (entries/s): {bare / statistics.median(seconds('ours')):.2f}x "
              f"(goal {GOAL})")
        print(f"  ceiling / bare SQLite: {bare / statistics.median(seconds('ceiling')):.2f}x: the most a "
              "single-process Python server doing only the unavoidable work reaches here")
        # The machine's CPU per entry at the baseline's rate, for the server, its clients and the kernel together.
        cpus = os.cpu_count() or 1
        budget = cpus / (count / bare) * 1e6
        needed = per_entry("ceiling", "server_cpu") + per_entry("ceiling", "clients_cpu")
        verdict = ("so no split of its work across processes reaches 1.0x on this machine" if needed >= budget
                   else "so a split of its work across processes could")
        print(f"  CPU budget at the bare rate: {cpus} CPUs / {count / bare:.0f} entries/s = {budget:.0f} us per "
              f"entry for server, clients and kernel together; the ceiling and its clients used {needed:.0f}, "
              f"{verdict}")
        assert last is not None
        check_entries(last, count)


if __name__ == "__main__":
    main()
