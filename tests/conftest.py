from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.plugin"]

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "examples" / "seed-9310"
SHARED_SEED = REPO.parent / "shared" / "reference" / "seed-9310"


@pytest.fixture
def seed_dir() -> Path:
    return SEED


@pytest.fixture
def write_project(tmp_path: Path) -> Callable[[str], Path]:
    """Write a pyproject.toml (dedented) into a fresh folder and return that folder."""
    counter = iter(range(1_000_000))

    def write(text: str) -> Path:
        folder = tmp_path / f"project{next(counter)}"
        folder.mkdir()
        (folder / "pyproject.toml").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return folder

    return write
