"""Liveness and readiness: the server answers, and the catalogue and blob store are reachable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

import ria
from ria.api.deps import get_archive
from ria.archive import Archive

router = APIRouter(tags=["health"])


@router.get("/api/v1/health", summary="Health of the server, catalogue and blob store")
def health(archive: Annotated[Archive, Depends(get_archive)]) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with archive.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, don't crash: this is what health checks are for
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        archive.store.exists("0" * 64)  # one cheap round trip to the store's index or folder
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if healthy else "degraded", "version": ria.__version__, **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
