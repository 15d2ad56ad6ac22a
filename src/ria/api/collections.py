"""Ria's own collection listing under ``/api/v1``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ria.api.deps import PrincipalDep, get_archive
from ria.archive import Archive
from ria.catalog.queries import CollectionStats

router = APIRouter(prefix="/api/v1", tags=["collections"])


@router.get("/collections", summary="Collections with their counts", response_model=list[CollectionStats])
def list_collections(
    archive: Annotated[Archive, Depends(get_archive)], principal: PrincipalDep
) -> list[CollectionStats]:
    return archive.catalog.collection_stats(principal=principal)
