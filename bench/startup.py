"""``--help`` of every command and subcommand, each a whole process, against ``python3 -c 'import click'`` measured
in the same run (issue 10, item 6; goal <= 1.2x each). Prints each ratio and the worst, of wall time and of CPU
time (user + system): on a busy machine wall time also measures the other processes' turns, and these runs are
~0.1 s, so the CPU-time ratio is the steadier one there; on an idle machine the two agree.

``bench/harness.py`` measures: interleaved rounds, alternating order, medians with min/max, peak RSS.
What a ``--help`` may import is held by ``tests/unit/cli/test_startup_imports.py``; this measures what it costs.

``--instructions`` counts instructions instead (valgrind's callgrind, one run each: the same count on every run
of the same interpreter and inputs, whatever else the machine does; Debian's valgrind), for a figure a busy
machine cannot move.

Usage: python3 bench/startup.py [ROUNDS] | python3 bench/startup.py --instructions
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from harness import Command, compare, report

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from supplychain.cli.statichelp import all_paths

GOAL = 1.2


def instructions(argv: list[str]) -> int:
    """Instructions ``argv`` executes (user space, the interpreter and everything it loads), by callgrind."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as harness.run_once runs it
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count from valgrind:\n{done.stderr[-1000:]}")
    return int(match.group(1))


def count_instructions(paths: list[tuple[str, ...]]) -> None:
    instructions([sys.executable, "-c", "import click"])  # compiles our bytecode first, as the warm-up round does
    for path in paths:
        instructions([sys.executable, "-m", "supplychain", *path, "--help"])
    baseline = instructions([sys.executable, "-c", "import click"])
    ratios = {}
    for path in paths:
        name = " ".join(("supplychain", *path, "--help"))
        ratios[name] = instructions([sys.executable, "-m", "supplychain", *path, "--help"]) / baseline
        print(f"  {name:<48} {ratios[name]:.3f}x instructions of import click ({baseline:,})")
    worst = max(ratios, key=ratios.__getitem__)
    print(f"== {len(ratios)} commands, instructions: worst {worst}: {ratios[worst]:.3f}x (goal <= {GOAL}x); over "
          f"the goal: {sum(1 for r in ratios.values() if r > GOAL)}; median {statistics.median(ratios.values()):.3f}x")


def main() -> None:
    if sys.argv[1:] == ["--instructions"]:
        count_instructions(all_paths())
        return
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    paths = all_paths()
    baseline = Command("import click", [sys.executable, "-c", "import click"])
    ratios: dict[str, float] = {}
    cpu_ratios: dict[str, float] = {}
    for path in paths:
        name = " ".join(("supplychain", *path, "--help"))
        ours = Command(name, [sys.executable, "-m", "supplychain", *path, "--help"])
        # Each command against its own baseline samples, interleaved with it: a loaded machine moves both.
        results = compare([baseline, ours], rounds=rounds)
        ratios[name] = report(results, ours=name, baseline="import click", goal=f"<= {GOAL}x")
        cpu_ratios[name] = results[name].cpu_median / results["import click"].cpu_median
    for label, figures in (("wall time", ratios), ("CPU time", cpu_ratios)):
        worst = max(figures, key=figures.__getitem__)
        print(f"== {len(figures)} commands, {label}: worst {worst}: {figures[worst]:.2f}x (goal <= {GOAL}x); "
              f"over the goal: {sum(1 for r in figures.values() if r > GOAL)}; median "
              f"{statistics.median(figures.values()):.2f}x")


if __name__ == "__main__":
    main()
