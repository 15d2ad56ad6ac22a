"""Rendered images over DICOMweb (WADO-RS /rendered and /thumbnail) and WADO-URI for legacy viewers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ria.api.deps import PrincipalDep, get_archive
from ria.api.dicomweb.routes import select_scoped
from ria.api.openapi import collection_path
from ria.archive import Archive
from ria.bounds import parse_int
from ria.dicomweb import wado
from ria.dicomweb.multipart import parse_accept
from ria.dicomweb.render import (
    RENDERED_TYPES,
    THUMBNAIL_SIZE,
    RenderOptions,
    parse_viewport,
    parse_window,
    render_frame,
)
from ria.errors import InvalidParameterError, NotAcceptableError

__all__ = ["build_rendered_router"]

ArchiveDep = Annotated[Archive, Depends(get_archive)]
Window = Annotated[str | None, Query(description="center,width[,linear]")]
Viewport = Annotated[str | None, Query(description="width,height of the largest picture wanted")]
Quality = Annotated[str | None, Query(description="JPEG quality 1-100")]


def _media_type(request: Request, explicit: str | None = None) -> str:
    """The picture type: an explicit parameter, else the first acceptable, else JPEG (the default)."""
    if explicit:
        if explicit not in RENDERED_TYPES:
            raise NotAcceptableError(f"rendered images are {' or '.join(RENDERED_TYPES)}, not {explicit}")
        return explicit
    accepted = parse_accept(request.headers.get("accept"))
    if not accepted:
        return "image/jpeg"
    for media in accepted:
        if media.type in RENDERED_TYPES:
            return media.type
        if media.type in ("*/*", "image/*"):
            return "image/jpeg"
    raise NotAcceptableError(f"rendered images are {' or '.join(RENDERED_TYPES)}")


def _quality(text: str | None) -> int:
    if text is None:
        return 90
    return parse_int("quality", text, minimum=1, maximum=100)


def build_rendered_router(*, per_collection: bool) -> APIRouter:
    prefix = "/dicomweb/collections/{collection}" if per_collection else "/dicomweb"
    scoped = [Depends(collection_path)] if per_collection else []  # declares {collection}
    router = APIRouter(prefix=prefix, tags=["DICOMweb"], dependencies=scoped)

    def scope(request: Request) -> str | None:
        return request.path_params.get("collection") if per_collection else None

    async def picture(
        archive: Archive,
        rows: list[wado.StoredInstance],
        frame: int,
        options: RenderOptions,
    ) -> Response:
        row = rows[len(rows) // 2] if len(rows) > 1 else rows[0]  # a series' thumbnail: its middle image
        data = await run_in_threadpool(render_frame, archive, row, frame, options)
        return Response(data, media_type=options.media_type)

    def options(
        request: Request,
        window: str | None,
        viewport: str | None,
        quality: str | None,
        *,
        thumbnail: bool = False,
    ) -> RenderOptions:
        size = parse_viewport(viewport) or ((THUMBNAIL_SIZE, THUMBNAIL_SIZE) if thumbnail else None)
        return RenderOptions(_media_type(request), parse_window(window), size, _quality(quality))

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/rendered",
        summary="WADO-RS: a single-frame instance",
    )
    async def rendered_instance(
        study: str,
        series: str,
        sop: str,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        window: Window = None,
        viewport: Viewport = None,
        quality: Quality = None,
    ) -> Response:
        render = options(request, window, viewport, quality)  # parameters first: a bad one costs nothing
        rows = await run_in_threadpool(select_scoped, archive, principal, scope(request), study, series, sop)
        return await picture(archive, rows, 1, render)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/frames/{frame}/rendered", summary="WADO-RS: a frame"
    )
    async def rendered_frame(
        study: str,
        series: str,
        sop: str,
        frame: str,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        window: Window = None,
        viewport: Viewport = None,
        quality: Quality = None,
    ) -> Response:
        numbers = wado.parse_frame_numbers(frame)
        if len(numbers) != 1:
            raise InvalidParameterError("frames", "a rendered frame is one frame number")
        render = options(request, window, viewport, quality)
        rows = await run_in_threadpool(select_scoped, archive, principal, scope(request), study, series, sop)
        return await picture(archive, rows, numbers[0], render)

    @router.get("/studies/{study}/series/{series}/instances/{sop}/thumbnail", summary="WADO-RS: thumbnail")
    async def thumbnail_instance(
        study: str,
        series: str,
        sop: str,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        viewport: Viewport = None,
    ) -> Response:
        render = options(request, None, viewport, None, thumbnail=True)
        rows = await run_in_threadpool(select_scoped, archive, principal, scope(request), study, series, sop)
        return await picture(archive, rows, 1, render)

    @router.get("/studies/{study}/series/{series}/thumbnail", summary="WADO-RS: a series' thumbnail")
    async def thumbnail_series(
        study: str,
        series: str,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        viewport: Viewport = None,
    ) -> Response:
        render = options(request, None, viewport, None, thumbnail=True)
        rows = await run_in_threadpool(select_scoped, archive, principal, scope(request), study, series)
        return await picture(archive, rows, 1, render)

    @router.get("/wado", summary="WADO-URI (PS3.18 §9): one object, as DICOM or as a picture")
    async def wado_uri(
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        request_type: Annotated[str | None, Query(alias="requestType")] = None,
        study_uid: Annotated[str | None, Query(alias="studyUID")] = None,
        series_uid: Annotated[str | None, Query(alias="seriesUID")] = None,
        object_uid: Annotated[str | None, Query(alias="objectUID")] = None,
        content_type: Annotated[str | None, Query(alias="contentType")] = None,
        frame_number: Annotated[str | None, Query(alias="frameNumber")] = None,
        window_center: Annotated[str | None, Query(alias="windowCenter")] = None,
        window_width: Annotated[str | None, Query(alias="windowWidth")] = None,
        rows: Annotated[str | None, Query()] = None,
        columns: Annotated[str | None, Query()] = None,
    ) -> Response:
        if request_type != "WADO":
            raise InvalidParameterError("requestType", "requestType must be WADO")
        for name, value in (("studyUID", study_uid), ("seriesUID", series_uid), ("objectUID", object_uid)):
            if not value:
                raise InvalidParameterError(name, f"{name} is required")
        assert study_uid and series_uid and object_uid
        # Every parameter is checked before the catalogue is asked (a bad one costs nothing).
        kind = (content_type or "image/jpeg").split(";")[0].strip()
        window = None
        if window_center or window_width:
            window = parse_window(f"{window_center},{window_width}")
        viewport = None
        if rows or columns:
            viewport = parse_viewport(f"{columns or rows},{rows or columns}")
        frame = wado.parse_frame_numbers(frame_number or "1", "frameNumber")
        render = None
        if kind != "application/dicom":
            render = RenderOptions(_media_type(request, kind), window, viewport)
        found = await run_in_threadpool(
            select_scoped, archive, principal, scope(request), study_uid, series_uid, object_uid
        )
        if render is None:
            return StreamingResponse(
                archive.store.open_range(found[0].blob_key), media_type="application/dicom"
            )
        return await picture(archive, found, frame[0], render)

    return router
