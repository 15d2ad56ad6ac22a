"""``/nbia-api/services/v1``: TCIA's public query API (more endpoints arrive with the TCIA API issue)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ria.api.deps import get_archive
from ria.api.responses import tcia_response
from ria.archive import Archive

router = APIRouter(prefix="/nbia-api/services/v1", tags=["TCIA v1"])

Format = Annotated[str | None, Query(description="json (default) or csv")]


@router.get("/getCollectionValues", summary="Names of all collections that hold series")
def get_collection_values(
    archive: Annotated[Archive, Depends(get_archive)], format: Format = None
) -> Response:
    return tcia_response([{"Collection": name} for name in archive.catalog.collection_names()], format)
