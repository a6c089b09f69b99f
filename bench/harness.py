"""What every benchmark here measures the same way (issue 10, item 6): whole processes, interleaved rounds,
alternating order between us and the baseline, medians with min/max, peak RSS (VmHWM).

A figure is the median of ``rounds`` runs of each command; in round ``i`` the commands run in list order when
``i`` is even and in reverse order when it is odd, so neither side always runs on a warmer cache or a quieter
machine. A command's peak RSS is its ``VmHWM`` at exit as GNU ``time -f %M`` reports it (``ru_maxrss`` of a
child forked by ``time``): ``ru_maxrss`` of a child forked by this Python process would carry this process's
own high-water mark across ``exec`` (Linux keeps the larger), and a reaped child has no ``/proc`` to read.
Debian's ``time`` package provides it (``.ci/run`` installs it); without it no RSS is printed.
Commands run without ``PYTHONDONTWRITEBYTECODE``: an installed package runs from compiled bytecode, and so do we.

Usage from a script::

    from harness import Command, compare, report
    results = compare([Command("skopeo", [...]), Command("supplychain", [...])], rounds=5)
    report(results, ratio_of="supplychain", to="skopeo", goal="<= 1.0x")
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Command:
    """One side of a comparison: a name, its argv, and optional set-up run (untimed) before every run."""

    name: str
    argv: Sequence[str]
    env: dict[str, str] | None = None
    cwd: str | Path | None = None
    before: Callable[[], None] | None = None
    # stdin bytes, if the command reads any
    stdin: bytes | None = None


@dataclass
class Samples:
    """The wall times (seconds) and peak RSS (bytes) of every run of one command."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_rss: list[int] = field(default_factory=list)  # 0 when unknown
    cpu: list[float] = field(default_factory=list)  # user + system CPU seconds of the process and its children

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu) if self.cpu else 0.0

    @property
    def rss_median(self) -> int:
        return int(statistics.median(self.peak_rss)) if self.peak_rss else 0

    def line(self) -> str:
        low, high = min(self.seconds), max(self.seconds)
        rss = f", peak RSS {max(self.peak_rss) / 2**20:.1f} MiB" if any(self.peak_rss) else ""
        cpu = f", CPU {self.cpu_median * 1000:.1f} ms" if self.cpu else ""
        return (f"{self.name:<28} median {self.median * 1000:9.1f} ms  (min {low * 1000:.1f}, max {high * 1000:.1f},"
                f" n={len(self.seconds)}){cpu}{rss}")


def _vm_hwm(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_once(command: Command) -> tuple[float, int, float]:
    """Run ``command`` once; its wall time (s), peak RSS (bytes) and CPU time (s, user + system, its children
    included: ``wait4``'s usage counts the descendants a process reaped). Raises when it exits non-zero.

    CPU time is the steadier figure on a busy machine (wall time waits for the other runs' turns on the CPUs);
    ``report`` prints both ratios."""
    if command.before is not None:
        command.before()
    env = {**os.environ, **(command.env or {})}
    # A pip-installed package runs from bytecode compiled at install time, as click, httpx and every peer here
    # do; with PYTHONDONTWRITEBYTECODE set (as on this machine) an editable checkout would recompile each of
    # our modules in every run (~90 ms for a verify), which no user pays. The warm-up round writes the .pyc files.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    argv = list(map(str, command.argv))
    rss_file = None
    if Path(GNU_TIME).exists():
        rss_file = tempfile.NamedTemporaryFile(prefix="bench-rss-", delete=False)  # noqa: SIM115
        rss_file.close()
        argv = [GNU_TIME, "-q", "-f", "%M", "-o", rss_file.name, *argv]
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, cwd=command.cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, stdin=subprocess.PIPE if command.stdin is not None else None)
    if command.stdin is not None:
        assert process.stdin is not None
        process.stdin.write(command.stdin)
        process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    cpu = usage.ru_utime + usage.ru_stime
    stderr = process.stderr.read() if process.stderr is not None else b""
    if process.stderr is not None:
        process.stderr.close()
    if process.returncode != 0:
        raise RuntimeError(f"{command.name} exited {process.returncode}: {' '.join(map(str, command.argv))}\n"
                           f"{stderr.decode(errors='replace')[-2000:]}")
    peak = 0
    if rss_file is not None:
        text = Path(rss_file.name).read_text().strip().splitlines()
        os.unlink(rss_file.name)
        peak = int(text[-1]) * 1024 if text and text[-1].isdigit() else 0  # KiB
    return elapsed, peak, cpu


def compare(commands: Sequence[Command], rounds: int = 5, warmup: int = 1) -> dict[str, Samples]:
    """Run every command ``rounds`` times, interleaved, alternating the order each round (after ``warmup``
    untimed rounds); the samples by name."""
    for _ in range(warmup):
        for command in commands:
            run_once(command)
    results = {command.name: Samples(command.name) for command in commands}
    for index in range(rounds):
        order = list(commands) if index % 2 == 0 else list(reversed(commands))
        for command in order:
            seconds, peak, cpu = run_once(command)
            results[command.name].seconds.append(seconds)
            results[command.name].peak_rss.append(peak)
            results[command.name].cpu.append(cpu)
    return results


def measure(name: str, function: Callable[[], object]) -> float:
    """Wall time of one in-process call (for set-up figures only; CLI figures are whole processes)."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def ratio_line(results: dict[str, Samples], ours: str, baseline: str, goal: str) -> str:
    """``ours / baseline`` of the medians, with the goal beside it."""
    ratio = results[ours].median / results[baseline].median
    cpu = ""
    if results[ours].cpu and results[baseline].cpu_median > 0:
        cpu = f"; CPU time {results[ours].cpu_median / results[baseline].cpu_median:.2f}x"
    return f"ratio {ours} / {baseline}: {ratio:.2f}x (goal {goal}){cpu}"


def report(results: dict[str, Samples], *, ours: str, baseline: str, goal: str, title: str = "") -> float:
    """Print every command's line, then the ratio; the ratio."""
    if title:
        print(f"== {title}")
    for samples in results.values():
        print("  " + samples.line())
    ratio = results[ours].median / results[baseline].median
    print(f"  {ratio_line(results, ours, baseline, goal)}")
    sys.stdout.flush()
    return ratio


def self_peak_rss() -> int:
    """This process's own peak RSS (bytes), for in-process set-up figures."""
    hwm = _vm_hwm(os.getpid())
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
