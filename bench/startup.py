"""``supplychain --help`` start time against ``python3 -c 'import click'`` (issue 2: <= 1.5x)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def median_runtime(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    # Warm the file cache for both before measuring.
    median_runtime([sys.executable, "-m", "supplychain", "--help"], 2)
    baseline = median_runtime([sys.executable, "-c", "import click"], runs)
    ours = median_runtime([sys.executable, "-m", "supplychain", "--help"], runs)
    print(f"python3 -c 'import click': {baseline * 1000:.1f} ms (median of {runs})")
    print(f"supplychain --help:        {ours * 1000:.1f} ms (median of {runs})")
    print(f"ratio: {ours / baseline:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
