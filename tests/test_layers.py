"""The package's layers (issue 11): no module below the entry point imports it or the CLI, so
the quiet cron path and the library never form an import circle with the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bot"
# Who may import the top: the entry point hands over to the CLI, ``python -m bot`` to the entry.
ALLOWED = {"bot.start": {"__main__.py"}, "bot.cli": {"start.py"}}


def imported_modules(source: Path) -> set[str]:
    """Every bot.* module ``source`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("bot.")}


@pytest.mark.parametrize("top", sorted(ALLOWED))
def test_no_lower_module_imports_the_entry_point_or_the_cli(top: str) -> None:
    importers = {
        source.relative_to(PACKAGE).as_posix()
        for source in PACKAGE.rglob("*.py")
        if top in imported_modules(source)
    }
    assert importers == ALLOWED[top]


def test_the_walk_sees_imports_inside_functions() -> None:
    # bot.start imports bot.cli only inside main(): the check must find it there.
    assert "bot.cli" in imported_modules(PACKAGE / "start.py")


def test_feedparser_lives_in_the_feeds_module_alone() -> None:
    # House style: each third-party library in one module; feedparser only loads for `import`.
    importers = set()
    for source in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "feedparser" for name in names):
                importers.add(source.relative_to(PACKAGE).as_posix())
    assert importers == {"feeds.py"}
    assert {
        source.relative_to(PACKAGE).as_posix()
        for source in PACKAGE.rglob("*.py")
        if "bot.feeds" in imported_modules(source)
    } == {"cli.py"}
