"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

import ria
from ria.api import collections, health
from ria.api.errors import install_error_handlers
from ria.api.tcia import v1
from ria.archive import Archive

__all__ = ["create_app"]


def create_app(archive: Archive) -> FastAPI:
    """An app serving ``archive``; the caller owns the archive's lifetime."""
    app = FastAPI(
        title="Ria — Radiogenomic Imaging Archive",
        version=ria.__version__,
        docs_url="/api/v1/docs",
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    app.state.archive = archive
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(collections.router)
    app.include_router(v1.router)
    return app
