"""How long does a cron run take when nothing is due? Prints figures; asserts nothing.

    .venv/bin/python bench/bench_run.py

Cron starts `interlink-bot run` every few minutes, and most runs find nothing to publish.
This builds a deployment of 5,000 posts (bench_check's generator), half of them already
published in the ledger, and times `run` at a moment between slots against `python -c pass`
in the same script: best of ten each. Target: at most 3 times the bare interpreter.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_check import POSTS, make_deployment

from bot.config import load_config
from bot.ledger import Copy, Ledger

BETWEEN_SLOTS = "2026-11-24T11:00Z"  # the default slots are 09:00, 13:00 and 18:00 London
RUNS = 10


def publish_half(root: Path) -> None:
    config = load_config(root)
    ledger = Ledger.open(config.paths.state)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    try:
        for path in sorted(config.paths.queue.rglob("*.yaml"))[: POSTS // 2]:
            post_id = path.relative_to(config.paths.queue).with_suffix("").as_posix()
            number = int(post_id.rsplit("-", 1)[1])
            for part in range(3 if number % 10 == 0 else 1):  # make_post's threads: 2 replies
                copy = Copy(post_id, "x")
                ledger.begin(copy, part, f"text {part}", now, url=f"https://e.org/{post_id}")
                ledger.published(copy, part, now, remote_id=f"{number}{part}")
    finally:
        ledger.close()


def best(command: list[str]) -> tuple[float, float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_deployment(root)
        publish_half(root)
        command = [sys.executable, "-m", "bot", "--root", str(root), "run", "--now", BETWEEN_SLOTS]
        subprocess.run(command, check=True, capture_output=True)  # a first run may build caches
        bare, bare_median = best([sys.executable, "-c", "pass"])
        run, run_median = best(command)
    print(f"python -c pass:                    best {bare:.3f} s, median {bare_median:.3f} s")
    print(
        f"run, nothing due, {POSTS:,} posts:     best {run:.3f} s, median {run_median:.3f} s "
        f"= {run / bare:.1f}x the bare interpreter (target <= 3x)"
    )


if __name__ == "__main__":
    main()
