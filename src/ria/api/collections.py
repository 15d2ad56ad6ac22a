"""Ria's own collection listing under ``/api/v1``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from ria.api.deps import get_archive
from ria.archive import Archive

router = APIRouter(prefix="/api/v1", tags=["collections"])


class CollectionOut(BaseModel):
    name: str
    patients: int
    studies: int
    series: int
    instances: int
    bytes: int
    modalities: list[str]


@router.get("/collections", summary="Collections with their counts", response_model=list[CollectionOut])
def list_collections(archive: Annotated[Archive, Depends(get_archive)]) -> list[CollectionOut]:
    return [CollectionOut.model_validate(s.to_json()) for s in archive.catalog.collection_stats()]
