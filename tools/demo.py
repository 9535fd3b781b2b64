"""`make demo`: the bot's main job on this repository's example deployment, against the sandbox.

Copies config/, queue/ and media/ to a temporary folder (so no state is left here), starts
`interlink-bot sandbox` on a free port with demonstration credentials (it checks every OAuth
1.0a signature against them, as X does), then plays the cron runs of one Tuesday with
`run --now`, and shows `log`, `log --attempts`, `status` and what the sandbox received.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BOT = [sys.executable, "-m", "bot"]
TICKS = (
    "2026-12-01 08:35",
    "2026-12-01 09:00",
    "2026-12-01 12:05",
    "2026-12-01 12:35",
    "2026-12-01 17:35",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="interlink-demo-") as folder:
        root = Path(folder)
        for name in ("config", "queue", "media"):
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, root / name)
        port = free_port()
        env = {
            **os.environ,
            "BOT_ROOT": str(root),
            "X_API_KEY": "demo-api-key",
            "X_API_SECRET": "demo-api-secret",
            "X_ACCESS_TOKEN": "demo-access-token",
            "X_ACCESS_TOKEN_SECRET": "demo-access-token-secret",
            "X_API_BASE_URL": f"http://127.0.0.1:{port}",
        }
        sandbox = subprocess.Popen(
            [*BOT, "sandbox", "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True
        )
        try:
            assert sandbox.stdout is not None
            print(sandbox.stdout.readline().rstrip())  # printed once it listens
            status = 0
            commands = (
                ["check"],
                *(["run", "--now", tick] for tick in TICKS),
                ["log"],
                ["log", "--attempts", "--limit", "4"],
                ["status", "--now", TICKS[-1]],
            )
            for command in commands:
                print(f"\n$ interlink-bot {' '.join(command)}", flush=True)
                status |= subprocess.run([*BOT, *command], env=env, check=False).returncode
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sandbox/state") as answer:
                received = json.load(answer)
            print(f"\nThe sandbox received {len(received['posts'])} posts:")
            for post in received["posts"]:
                reply = " (reply)" if post["in_reply_to"] else ""
                image = " [with image]" if post.get("media_ids") else ""
                print(f"  #{post['id']}{reply}{image}: {post['text'][:80]}")
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)
    return status


if __name__ == "__main__":
    sys.exit(main())
