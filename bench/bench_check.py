"""How fast are `check` and `weighted_length`? Prints figures; asserts nothing.

    .venv/bin/python bench/bench_check.py

1. Generates a deployment with 5,000 posts like the example queue's (titles, sources, summaries
   that often need shortening, URLs, hashtags; some Persian, some emoji, some threads) and
   times the whole `interlink-bot check` command on it, interpreter start-up included, best of
   five. Target on the project's 2-core machine: under 1.5 s.
2. Times `weighted_length` on 20,000 typical 200-character posts. Target: at least 20,000
   posts/s.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.networks.x.text import weighted_length

POSTS = 5000
WORDS = (
    *("MEK", "lobby", "Albania", "Giuliani", "court", "hearing", "families", "former"),
    *("members", "camp", "Tirana", "report", "investigation", "State", "Department"),
    *("sanctions", "Iran", "news", "analysis", "documentary", "interview"),
    *("ایران", "خانواده", "جداشدگان", "گزارش", "🧑\u200d💻", "🫠", "🇮🇷"),
)
SOURCES = ("NPO Radio", "The American Conservative", "NBC News", "LobeLog", "Tehran Times")


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def make_post(rng: random.Random, number: int) -> str:
    lines = [
        f"title: {sentence(rng, rng.randint(4, 12))!r}",
        f"source: {rng.choice(SOURCES)}",
        f"summary: {sentence(rng, rng.randint(10, 60))!r}",
        f"url: https://iran-interlink.org/2019/10/{number}/post-{number}/",
        f"hashtags: [MEK, Post{number}]",
        f"approved: {str(rng.random() < 0.9).lower()}",
        f"priority: {rng.randint(0, 3)}",
    ]
    if number % 10 == 0:
        lines.append(f"thread: [{sentence(rng, 12)!r}, {sentence(rng, 20)!r}]")
    if number % 7 == 0:
        lines.append("not_before: 2026-11-01\nexpires: 2027-01-31")
    return "\n".join(lines) + "\n"


def make_deployment(root: Path) -> None:
    rng = random.Random(2019)
    (root / "config").mkdir()
    (root / "config" / "bot.yaml").write_text(
        "timezone: Europe/London\nformat:\n  hashtags: [Iran]\n", encoding="utf-8"
    )
    for number in range(POSTS):
        folder = root / "queue" / f"{2019 + number // 1000}" / f"{number % 12 + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"post-{number}.yaml").write_text(make_post(rng, number), encoding="utf-8")


def time_command(args: list[str], runs: int = 5) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def typical_posts(count: int) -> list[str]:
    rng = random.Random(7)
    posts = []
    for number in range(count):
        text = f"{sentence(rng, 8)} — {rng.choice(SOURCES)}: {sentence(rng, 14)}"
        text = text[:150] + f" https://iran-interlink.org/?p={number} #MEK #Iran"
        posts.append(text)
    return posts


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_deployment(root)
        bare = time_command([sys.executable, "-c", "pass"])
        check = time_command([sys.executable, "-m", "bot", "--root", str(root), "check"])
    print(f"python -c pass:               best {min(bare):.3f} s")
    print(
        f"check, {POSTS:,} posts:          best {min(check):.3f} s, "
        f"median {statistics.median(check):.3f} s   (target < 1.5 s)"
    )

    posts = typical_posts(20_000)
    mean_length = statistics.mean(len(post) for post in posts)
    weighted_length(posts[0])  # compile the patterns and load emoji data once, as check does
    start = time.perf_counter()
    for post in posts:
        weighted_length(post)
    rate = len(posts) / (time.perf_counter() - start)
    print(
        f"weighted_length:              {rate:,.0f} posts/s on {len(posts):,} posts of "
        f"{mean_length:.0f} characters   (target >= 20,000)"
    )


if __name__ == "__main__":
    main()
