"""Shared carts the TCIA way: ``createSharedList`` (form POST) and v1 ``getContentsByName``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import Response

from ria.api.deps import PrincipalDep, get_archive
from ria.api.openapi import errors, merge, success
from ria.api.tcia.dialect import V1, pick
from ria.api.tcia.fields import series_fields
from ria.api.tcia.formats import TciaFormat, render, render_json
from ria.api.tcia.params import split_list
from ria.archive import Archive
from ria.catalog.carts import cart_series, create_cart

__all__ = ["router"]

router = APIRouter(prefix="/nbia-api/services", tags=["TCIA shared carts"])
ArchiveDep = Annotated[Archive, Depends(get_archive)]
CART_CONTENTS = merge(
    success(
        "The cart's series as JSON; an empty body when none is visible (TCIA's empty 200).",
        "application/json",
    ),
    errors(404),
)

# TCIA's getContentsByName columns; the last really is "Date Released", with a space.
_CART_COLUMNS = (
    "SeriesInstanceUID", "StudyInstanceUID", "Modality", "ProtocolName", "SeriesDate", "SeriesDescription",
    "BodyPartExamined", "SeriesNumber", "AnnotationsFlag", "Collection", "PatientID", "Manufacturer",
    "ManufacturerModelName", "SoftwareVersions", "ImageCount", "Date Released",
)  # fmt: skip


@router.post(
    "/createSharedList", summary="Save a list of series as a named shared cart", responses=errors(404)
)
def create_shared_list(
    archive: ArchiveDep,
    principal: PrincipalDep,
    uid_list: Annotated[list[str], Form(alias="list")],
    name: Annotated[str | None, Form()] = None,
    description: Annotated[str | None, Form()] = None,
) -> Response:
    uids = split_list("list", uid_list, uids=True)
    chosen = create_cart(archive.engine, uids, name or None, description, principal=principal)
    return render_json({"name": chosen, "series": len(uids)})


@router.get("/v1/getContentsByName", summary="The series of a shared cart", responses=CART_CONTENTS)
def get_contents_by_name(
    archive: ArchiveDep, principal: PrincipalDep, name: Annotated[str, Query()]
) -> Response:
    uids = tuple(cart_series(archive.engine, name, principal=principal))
    collections = {c.name: c for c in archive.catalog.collections(principal=principal)}
    rows = []
    for row in archive.catalog.series_by_uid(uids, principal=principal):
        fields = series_fields(row, collections, V1)
        fields["Date Released"] = fields.get("DateReleased")
        rows.append(pick(fields, _CART_COLUMNS))
    return render(rows, TciaFormat.JSON)
