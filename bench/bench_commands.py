"""How fast are `status`, `plan` and `check` on 5,000 posts? Prints ratios; asserts nothing.

    .venv/bin/python bench/bench_commands.py

Floors measured in the same run, on the same machine (issue 9):

- `status` and `plan` against a bare interpreter (`python -c pass`): at most 12x. Both read
  the queue index a run keeps, as `run` does, so they re-read only files changed since.
- `check` on 5,000 files no cache may answer against a script that only parses them with
  PyYAML's C loader: at most 2x.
- `run` with nothing due against the bare interpreter: at most 3x (bench_run.py has the
  details).

Best of seven each, taking turns, interpreter start-up included.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_check import POSTS, make_deployment
from bench_run import BETWEEN_SLOTS, publish_half

RUNS = 7
PARSE_ONLY = """
import sys, pathlib, yaml
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.yaml")):
    yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
"""


def best_of(commands: dict[str, list[str]]) -> dict[str, float]:
    """Each command's best time of RUNS, taking turns: a machine that slows down for a while
    (a shared host does) slows a command and its floor alike, not one of them."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(RUNS):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, check=False, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return {name: min(found) for name, found in times.items()}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_deployment(root)
        publish_half(root)
        bot = [sys.executable, "-m", "bot", "--root", str(root)]
        subprocess.run([*bot, "run", "--now", BETWEEN_SLOTS], check=True, capture_output=True)
        best = best_of(
            {
                "bare": [sys.executable, "-c", "pass"],
                "parse": [sys.executable, "-c", PARSE_ONLY, str(root / "queue")],
                "status": [*bot, "status", "--now", BETWEEN_SLOTS],
                "plan": [*bot, "plan", "--now", BETWEEN_SLOTS],
                "check": [*bot, "check"],
                "quiet": [*bot, "run", "--now", BETWEEN_SLOTS],
            }
        )
    bare, parse = best["bare"], best["parse"]
    print(f"python -c pass:                  {bare:.3f} s")
    print(f"PyYAML C loader, {POSTS:,} files:   {parse:.3f} s")
    for name, seconds, floor, label, target in (
        ("status", best["status"], bare, "bare", 12),
        ("plan", best["plan"], bare, "bare", 12),
        ("check", best["check"], parse, "parse", 2),
        ("run, nothing due", best["quiet"], bare, "bare", 3),
    ):
        print(
            f"{name + ',':<17} {POSTS:,} posts: {seconds:.3f} s = {seconds / floor:.1f}x {label} "
            f"(target <= {target}x)"
        )


if __name__ == "__main__":
    main()
