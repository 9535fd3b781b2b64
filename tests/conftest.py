"""Shared fixtures: a throwaway deployment folder and a way to run the CLI in-process."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(
    os.environ.get("TWITTER_TEXT_REFERENCE")
    or REPO.parent / "shared" / "reference" / "twitter-text"
)

MINIMAL_CONFIG = "timezone: Europe/London\n"


@dataclass
class Result:
    status: int
    out: str
    err: str


@dataclass
class Deployment:
    root: Path

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def post(self, post_id: str, content: str) -> Path:
        return self.write(f"queue/{post_id}.yaml", content)


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    site = Deployment(tmp_path / "site")
    site.write("config/bot.yaml", MINIMAL_CONFIG)
    (site.root / "queue").mkdir()
    (site.root / "media").mkdir()
    return site


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def run(*args: str | Path) -> Result:
        status = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def reference() -> Path:
    """X's conformance data, read at test time (../shared/reference/twitter-text)."""
    if not (REFERENCE / "weighted_length_cases.json").is_file():
        pytest.fail(f"twitter-text reference not found at {REFERENCE}; set TWITTER_TEXT_REFERENCE")
    return REFERENCE
