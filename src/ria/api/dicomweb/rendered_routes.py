"""Rendered images over DICOMweb (WADO-RS /rendered and /thumbnail) and WADO-URI for legacy viewers.

Every level PS3.18 names is served: study, series, instance and frames. An ``Accept`` of
``multipart/related; type="image/jpeg"`` (or png) answers every frame the path names, one
part per frame in series and instance order, rendered one at a time as the body streams;
a single-image ``Accept`` (the default, and what dicomweb-client sends) answers one
picture: a frame asked for, an instance's first frame, or for a series or study its
representative image (the middle instance with pixel data), as thumbnails do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ria.access import Principal
from ria.api.deps import PrincipalDep, get_archive
from ria.api.dicomweb.routes import select_scoped
from ria.api.openapi import SeriesUID, SopUID, StudyUID, collection_path, errors, merge, success, uid_query
from ria.api.streaming import peek
from ria.archive import Archive
from ria.bounds import parse_int
from ria.dicomweb import wado
from ria.dicomweb.multipart import MediaType, iter_multipart, new_boundary, parse_accept
from ria.dicomweb.render import (
    RENDERED_TYPES,
    THUMBNAIL_SIZE,
    RenderOptions,
    check_frames,
    parse_viewport,
    parse_window,
    render_frame,
    render_frames,
    representative,
)
from ria.errors import InvalidParameterError, NotAcceptableError, NotFoundError

__all__ = ["build_rendered_router"]

ArchiveDep = Annotated[Archive, Depends(get_archive)]
Window = Annotated[str | None, Query(description="center,width[,function]: linear, linear-exact or sigmoid")]
Viewport = Annotated[str | None, Query(description="width,height of the largest picture wanted")]
Quality = Annotated[str | None, Query(description="JPEG quality 1-100")]


PICTURES = merge(
    success(
        'One rendered picture; with an Accept of multipart/related; type="image/jpeg" (or png) '
        "every frame the path names, one part each.",
        *RENDERED_TYPES,
        "multipart/related",
    ),
    errors(400, 404, 406, 409),
)
THUMBNAIL = merge(
    success(
        "A representative picture, at most 128 pixels on its longer side unless a viewport is asked.",
        *RENDERED_TYPES,
    ),
    errors(400, 404, 406, 409),
)


def _negotiate(request: Request) -> tuple[str, bool]:
    """The picture type, and whether the answer is multipart: the most preferred acceptable range wins."""
    accepted = parse_accept(request.headers.get("accept"))
    if not accepted:
        return "image/jpeg", False
    for media in accepted:
        if media.type in RENDERED_TYPES:
            return media.type, False
        if media.type in ("*/*", "image/*"):
            return "image/jpeg", False
        if media.type == "multipart/related":
            part = media.params.get("type", "image/jpeg")
            if part in RENDERED_TYPES:
                return part, True
            if part in ("*/*", "image/*"):
                return "image/jpeg", True
    raise NotAcceptableError(
        f"rendered images are {' or '.join(RENDERED_TYPES)}, alone or as multipart/related parts"
    )


def _media_type(explicit: str) -> str:
    """WADO-URI's contentType, which names the picture type itself."""
    if explicit not in RENDERED_TYPES:
        raise NotAcceptableError(f"rendered images are {' or '.join(RENDERED_TYPES)}, not {explicit}")
    return explicit


def _quality(text: str | None) -> int:
    if text is None:
        return 90
    return parse_int("quality", text, minimum=1, maximum=100)


async def _picture(
    archive: Archive, row: wado.StoredInstance, frame: int, options: RenderOptions
) -> Response:
    data = await run_in_threadpool(render_frame, archive, row, frame, options)
    return Response(data, media_type=options.media_type)


async def _representative(
    archive: Archive, rows: list[wado.StoredInstance], options: RenderOptions
) -> Response:
    row = await run_in_threadpool(representative, archive, rows)
    return await _picture(archive, row, 1, options)


async def _pictures(
    archive: Archive, rows: list[wado.StoredInstance], options: RenderOptions, frames: list[int] | None = None
) -> Response:
    """Every frame named, as multipart/related; the first is rendered before answering: its error is a 4xx."""
    if frames is not None:
        for row in rows:
            await run_in_threadpool(check_frames, archive, row, frames)
    first, pictures = await run_in_threadpool(peek, render_frames(archive, rows, options, frames))
    if first is None:
        raise NotFoundError("nothing here has pixel data to render")
    boundary = new_boundary()
    parts = ((options.media_type, iter([picture])) for picture in pictures)
    media = MediaType("multipart/related", {"type": options.media_type, "boundary": boundary})
    return StreamingResponse(iter_multipart(parts, boundary), media_type=str(media))


def build_rendered_router(*, per_collection: bool) -> APIRouter:
    prefix = "/dicomweb/collections/{collection}" if per_collection else "/dicomweb"
    scoped = [Depends(collection_path)] if per_collection else []  # declares {collection}
    router = APIRouter(prefix=prefix, tags=["DICOMweb"], dependencies=scoped)

    def scope(request: Request) -> str | None:
        return request.path_params.get("collection") if per_collection else None

    def options(
        request: Request,
        window: str | None,
        viewport: str | None,
        quality: str | None,
        *,
        thumbnail: bool = False,
    ) -> tuple[RenderOptions, bool]:
        """The picture asked for and whether every frame is wanted (multipart), checked before any lookup."""
        media_type, multipart = _negotiate(request)
        size = parse_viewport(viewport) or ((THUMBNAIL_SIZE, THUMBNAIL_SIZE) if thumbnail else None)
        return RenderOptions(media_type, parse_window(window), size, _quality(quality)), multipart

    async def select(
        request: Request, archive: Archive, principal: Principal, *uids: str
    ) -> list[wado.StoredInstance]:
        return await run_in_threadpool(select_scoped, archive, principal, scope(request), *uids)

    @router.get("/studies/{study}/rendered", summary="WADO-RS: a study rendered", responses=PICTURES)
    async def rendered_study(
        study: StudyUID,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        window: Window = None,
        viewport: Viewport = None,
        quality: Quality = None,
    ) -> Response:
        render, multipart = options(request, window, viewport, quality)
        rows = await select(request, archive, principal, study)
        if multipart:
            return await _pictures(archive, rows, render)
        return await _representative(archive, rows, render)

    @router.get("/studies/{study}/thumbnail", summary="WADO-RS: a study's thumbnail", responses=THUMBNAIL)
    async def thumbnail_study(
        study: StudyUID,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        viewport: Viewport = None,
    ) -> Response:
        render, _multipart = options(request, None, viewport, None, thumbnail=True)
        return await _representative(archive, await select(request, archive, principal, study), render)

    @router.get(
        "/studies/{study}/series/{series}/rendered", summary="WADO-RS: a series rendered", responses=PICTURES
    )
    async def rendered_series(
        study: StudyUID,
        series: SeriesUID,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        window: Window = None,
        viewport: Viewport = None,
        quality: Quality = None,
    ) -> Response:
        render, multipart = options(request, window, viewport, quality)
        rows = await select(request, archive, principal, study, series)
        if multipart:
            return await _pictures(archive, rows, render)
        return await _representative(archive, rows, render)

    @router.get(
        "/studies/{study}/series/{series}/thumbnail",
        summary="WADO-RS: a series' thumbnail",
        responses=THUMBNAIL,
    )
    async def thumbnail_series(
        study: StudyUID,
        series: SeriesUID,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        viewport: Viewport = None,
    ) -> Response:
        render, _multipart = options(request, None, viewport, None, thumbnail=True)
        return await _representative(
            archive, await select(request, archive, principal, study, series), render
        )

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/rendered",
        summary="WADO-RS: an instance rendered (its first frame, or every frame as multipart)",
        responses=PICTURES,
    )
    async def rendered_instance(
        study: StudyUID,
        series: SeriesUID,
        sop: SopUID,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        window: Window = None,
        viewport: Viewport = None,
        quality: Quality = None,
    ) -> Response:
        render, multipart = options(request, window, viewport, quality)  # a bad parameter costs nothing
        rows = await select(request, archive, principal, study, series, sop)
        if multipart:
            return await _pictures(archive, rows, render)
        return await _picture(archive, rows[0], 1, render)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/frames/{frame}/rendered",
        summary="WADO-RS: frames rendered (one, or several as multipart)",
        responses=PICTURES,
    )
    async def rendered_frame(
        study: StudyUID,
        series: SeriesUID,
        sop: SopUID,
        frame: str,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        window: Window = None,
        viewport: Viewport = None,
        quality: Quality = None,
    ) -> Response:
        numbers = wado.parse_frame_numbers(frame)
        render, multipart = options(request, window, viewport, quality)
        if len(numbers) != 1 and not multipart:
            raise InvalidParameterError(
                "frames", 'several frames are rendered as multipart/related; type="image/jpeg" (or png)'
            )
        rows = await select(request, archive, principal, study, series, sop)
        if multipart:
            return await _pictures(archive, rows, render, numbers)
        return await _picture(archive, rows[0], numbers[0], render)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/thumbnail",
        summary="WADO-RS: an instance's thumbnail",
        responses=THUMBNAIL,
    )
    async def thumbnail_instance(
        study: StudyUID,
        series: SeriesUID,
        sop: SopUID,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        viewport: Viewport = None,
    ) -> Response:
        render, _multipart = options(request, None, viewport, None, thumbnail=True)
        rows = await select(request, archive, principal, study, series, sop)
        return await _picture(archive, rows[0], 1, render)

    @router.get(
        "/wado",
        summary="WADO-URI (PS3.18 §9): one object, as DICOM or as a picture",
        responses=merge(
            success("The stored file, or one frame rendered.", "application/dicom", *RENDERED_TYPES),
            errors(400, 404, 406, 409),
        ),
    )
    async def wado_uri(
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        request_type: Annotated[str | None, Query(alias="requestType")] = None,
        study_uid: Annotated[str | None, uid_query("studyUID", "Study Instance UID")] = None,
        series_uid: Annotated[str | None, uid_query("seriesUID", "Series Instance UID")] = None,
        object_uid: Annotated[str | None, uid_query("objectUID", "SOP Instance UID")] = None,
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
            render = RenderOptions(_media_type(kind), window, viewport)
        found = await run_in_threadpool(
            select_scoped, archive, principal, scope(request), study_uid, series_uid, object_uid
        )
        if render is None:
            return StreamingResponse(
                archive.store.open_range(found[0].blob_key), media_type="application/dicom"
            )
        return await _picture(archive, found[0], frame[0], render)

    return router
