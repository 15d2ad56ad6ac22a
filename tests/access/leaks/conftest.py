"""One world per database for the whole leak matrix: archive, live server and HTTP client built once.

Package scope keeps the matrix fast (the world takes a few seconds to build; thousands of requests reuse
one server and one connection pool). Tests here only read, except where a test says otherwise and undoes
nothing the others depend on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ria.settings import Settings
from tests.access.leaks.world import World, build_world, database_for, drop_database
from tests.api.conftest import LiveServer


@dataclass(frozen=True)
class Served:
    """The world, served over HTTP on loopback."""

    world: World
    server: LiveServer
    client: httpx.Client


@pytest.fixture(scope="package", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    admin_url = request.getfixturevalue("postgres_admin_url") if request.param == "postgresql" else None
    url, name = database_for(request.param, admin_url)
    root = tmp_path_factory.mktemp(f"leaks-{request.param}")
    try:
        settings = Settings(data_dir=root / "data", database_url=url, workers=1)
        for world in build_world(root, settings):
            with LiveServer(world.archive) as server, httpx.Client(base_url=server.url, timeout=30) as client:
                yield Served(world, server, client)
    finally:
        if admin_url is not None and name is not None:
            drop_database(admin_url, name)


@pytest.fixture
def world(served: Served) -> World:
    return served.world
