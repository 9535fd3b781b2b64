"""`make demo`: the bot's main job on this repository's example deployment, against the sandbox.

Copies config/, queue/ and media/ to a temporary folder (so no state is left here), starts
`interlink-bot sandbox` on a free port with demonstration credentials (it checks every OAuth
1.0a signature against them, as X does), then plays the cron runs of one Tuesday with
`run --now`, and shows `log`, `log --attempts`, `status` and what the sandbox received.

With `--local-pds` (`make demo-bluesky`), the posts go to Bluesky too: a PDS started here on
127.0.0.1 (the tests' one, tests/pds, which `make test` installs), with an account made for
the demo. BLUESKY_HANDLE, BLUESKY_APP_PASSWORD and BLUESKY_SERVICE may name another PDS on this
machine instead; a demo is a rehearsal, so a real account (any other PDS) is left out, and the
run says so.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def bluesky(local_pds: bool) -> Iterator[dict[str, str]]:
    """The Bluesky variables for the demo: the environment's, a local PDS's, or none."""
    if not local_pds:
        names = ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD", "BLUESKY_SERVICE")
        yield {name: os.environ[name] for name in names if os.environ.get(name)}
        return
    sys.path.insert(0, str(REPO))
    from tests import pds_server  # noqa: PLC0415 - the tests' PDS, only for this

    if not pds_server.installed():
        sys.exit("the local PDS is not installed: run `make test` once (it installs tests/pds)")
    with pds_server.running_pds() as pds:
        account = pds_server.create_account(pds.url, f"newsdesk{pds.handle_domains[0]}")
        print(f"a local Bluesky PDS at {pds.url}, account {account.handle}")
        yield {
            "BLUESKY_HANDLE": account.handle,
            "BLUESKY_APP_PASSWORD": account.app_password,
            "BLUESKY_SERVICE": pds.url,
        }


def bluesky_posts(variables: dict[str, str]) -> list[dict[str, Any]]:
    """What the Bluesky account's repo holds, as its PDS says."""
    service = variables.get("BLUESKY_SERVICE", "https://bsky.social").rstrip("/")

    def xrpc(method: str, **params: str) -> dict[str, Any]:
        url = f"{service}/xrpc/{method}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            result: dict[str, Any] = json.load(answer)
            return result

    did = xrpc("com.atproto.identity.resolveHandle", handle=variables["BLUESKY_HANDLE"])["did"]
    found = xrpc(
        "com.atproto.repo.listRecords", repo=did, collection="app.bsky.feed.post", limit="100"
    )
    return sorted(found["records"], key=lambda record: record["uri"])


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="interlink-demo-") as folder,
        bluesky("--local-pds" in sys.argv[1:]) as bluesky_variables,
    ):
        root = Path(folder)
        for name in ("config", "queue", "media"):
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, root / name)
        to_bluesky = {"BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"} <= set(bluesky_variables)
        if to_bluesky:
            with (root / "config" / "bot.yaml").open("a", encoding="utf-8") as config:
                config.write("networks:\n  x: {}\n  bluesky: {}\n")
        port = free_port()
        env = {
            **bluesky_variables,
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
            if to_bluesky:
                records = bluesky_posts(bluesky_variables)
                print(f"\nBluesky's repo holds {len(records)} posts:")
                for record in records:
                    value = record["value"]
                    reply = " (reply)" if "reply" in value else ""
                    embed = value.get("embed", {}).get("$type", "").rsplit(".", 1)[-1]
                    shown = f" [{embed}]" if embed else ""
                    links = sum(
                        f["features"][0]["$type"].endswith("#link") for f in value.get("facets", [])
                    )
                    print(
                        f"  {record['uri'].rsplit('/', 1)[1]}{reply}{shown} ({links} link"
                        f"{'s' if links != 1 else ''} clickable): {value['text'][:60]}"
                    )
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=10)
    return status


if __name__ == "__main__":
    sys.exit(main())
