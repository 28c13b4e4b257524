"""A live server over a committed SQLite database with the core demo, for browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import live
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "require_chromium"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`govgrid serve` in a subprocess over a fresh demo database (core demo only)."""
    server = live.start(tmp_path_factory.mktemp("live"))
    yield server.url
    server.stop()
