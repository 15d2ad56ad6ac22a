"""Ria's own API for shared carts and manifests (``/api/v1``), JSON in and out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ria.access.embargo import embargo_notices
from ria.api.deps import PrincipalDep, get_archive
from ria.api.openapi import errors, success
from ria.api.origin import public_base_url
from ria.api.streaming import stream_text
from ria.archive import Archive
from ria.catalog.carts import cart_series, create_cart
from ria.catalog.search import SeriesFilter, SeriesRow
from ria.manifest import iter_csv_manifest, iter_tcia_manifest

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["Ria"])
MANIFESTS = success(
    "A .tcia manifest, or CSV with format=csv (a download).", "application/x-nbia-manifest-file", "text/csv"
)
ArchiveDep = Annotated[Archive, Depends(get_archive)]


class CartRequest(BaseModel):
    series: list[str] = Field(description="SeriesInstanceUIDs; every one must be in the archive")
    name: str | None = Field(default=None, description="a name of your own; drawn at random if absent")
    description: str | None = None


class CartCreated(BaseModel):
    name: str
    series: int
    url: str = Field(description="getContentsByName URL that lists the cart, for TCIA clients")


class Cart(BaseModel):
    name: str
    series: list[str]


@router.post("/carts", status_code=201, summary="Create a shared cart")
def create(request: Request, archive: ArchiveDep, principal: PrincipalDep, body: CartRequest) -> CartCreated:
    name = create_cart(archive.engine, body.series, body.name, body.description, principal=principal)
    url = f"{public_base_url(request)}/nbia-api/services/v1/getContentsByName?name={name}"
    return CartCreated(name=name, series=len(set(body.series)), url=url)


@router.get("/carts/{name}", summary="The series of a shared cart", responses=errors(404))
def read(archive: ArchiveDep, principal: PrincipalDep, name: str) -> Cart:
    return Cart(name=name, series=cart_series(archive.engine, name, principal=principal))


@router.get(
    "/manifest",
    summary="A download manifest (.tcia or CSV) for every series matching the filters",
    responses=MANIFESTS,
)
def manifest(
    request: Request,
    archive: ArchiveDep,
    principal: PrincipalDep,
    collection: str | None = None,
    patient_id: str | None = None,
    study_instance_uid: str | None = None,
    modality: str | None = None,
    body_part_examined: str | None = None,
    manufacturer: str | None = None,
    format: Annotated[Literal["tcia", "csv"], Query()] = "tcia",
) -> Response:
    where = SeriesFilter(
        collection=collection,
        patient_id=patient_id,
        study_instance_uid=study_instance_uid,
        modality=modality,
        body_part_examined=body_part_examined,
        manufacturer=manufacturer,
    )
    render: Callable[[Iterator[SeriesRow]], Iterator[str]]
    if format == "csv":
        notices = embargo_notices(archive.catalog.collections(principal=principal), principal.now())
        render = partial(iter_csv_manifest, embargo_notices=notices)
        media, name = "text/csv; charset=utf-8", "manifest.csv"
    else:
        server = public_base_url(request) + "/nbia-api/services/v4/getImage"

        def render(rows: Iterator[SeriesRow]) -> Iterator[str]:
            return iter_tcia_manifest((row.series_instance_uid for row in rows), download_server_url=server)

        media, name = "application/x-nbia-manifest-file", "manifest.tcia"
    return stream_text(  # from the catalogue's cursor: flat memory for a manifest of every series
        archive.catalog.iter_series(where, principal=principal),
        render,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
