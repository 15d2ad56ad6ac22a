"""DICOMweb routes (PS3.18): STOW-RS, QIDO-RS and WADO-RS, thin over :mod:`ria.dicomweb`.

One service root, ``/dicomweb``, over every collection, and one per collection,
``/dicomweb/collections/{collection}``: there searches and retrievals see only
that collection, and STOW-RS stores into it (the service root has no collection
to store into). Storing is curating: STOW-RS takes an administrator's token, or a
loopback client without one (see docs/conformance.md). Searches and retrievals see
what the caller's principal may see, like every other route.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ria.access import Principal
from ria.api.deps import PrincipalDep, get_archive
from ria.api.dicomweb.stow import handle_store
from ria.api.openapi import (
    STOW_BODY,
    SeriesUID,
    SopUID,
    StudyUID,
    collection_path,
    dicomweb_retrieve,
    dicomweb_search,
    dicomweb_store,
)
from ria.api.origin import may_curate_locally, public_base_url
from ria.api.streaming import ChunkStream, chunked, peek
from ria.archive import Archive
from ria.dicomweb import qido, wado
from ria.dicomweb.multipart import MediaType, iter_multipart, new_boundary, parse_accept
from ria.errors import ForbiddenError, InvalidParameterError, NotAcceptableError, NotFoundError

__all__ = ["build_dicomweb_router", "select_scoped"]

ArchiveDep = Annotated[Archive, Depends(get_archive)]
DICOM_JSON = "application/dicom+json"
SEARCH = dicomweb_search()
INSTANCES = dicomweb_retrieve("application/dicom instance")
METADATA = dicomweb_retrieve("", metadata=True)
FRAMES = dicomweb_retrieve("frame (in its stored encoding)")
BULKDATA = dicomweb_retrieve("bulk data value")
STORE = dicomweb_store()


def _base_url(request: Request, collection: str | None) -> str:
    root = public_base_url(request) + "/dicomweb"
    return root if collection is None else f"{root}/collections/{collection}"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=DICOM_JSON, headers=headers)


def _check_json_accept(request: Request) -> None:
    accepted = parse_accept(request.headers.get("accept"))
    if accepted and not any(
        m.type in (DICOM_JSON, "application/json", "*/*", "application/*") for m in accepted
    ):
        raise NotAcceptableError(f"this resource is served as {DICOM_JSON}; the request accepts none of it")


def _dicom_accept(request: Request, stored_syntaxes: set[str | None]) -> None:
    """Accept negotiation for instance retrieval: multipart/related of application/dicom, as stored."""
    accepted = parse_accept(request.headers.get("accept"))
    if not accepted:
        return
    for media in accepted:
        if media.type in ("*/*", "multipart/*") or (
            media.type == "multipart/related"
            and media.params.get("type", "application/dicom") == "application/dicom"
        ):
            wanted = media.params.get("transfer-syntax", "*")
            if wanted == "*" or stored_syntaxes == {wanted}:
                return
    raise NotAcceptableError(
        'instances are served as multipart/related; type="application/dicom" in their stored transfer syntax '
        f"({', '.join(sorted(s or 'unknown' for s in stored_syntaxes))}); Ria does not transcode"
    )


def _multipart(parts: Iterator[tuple[str, Iterator[bytes]]], part_type: str) -> StreamingResponse:
    boundary = new_boundary()
    media = MediaType("multipart/related", {"type": part_type, "boundary": boundary})
    return StreamingResponse(iter_multipart(parts, boundary), media_type=str(media))


def select_scoped(
    archive: Archive,
    principal: Principal,
    collection: str | None,
    study_uid: str,
    series_uid: str | None = None,
    sop_uid: str | None = None,
) -> list[wado.StoredInstance]:
    """The instances a path names, within the service root's collection if it has one (else 404)."""
    rows = wado.select_instances(archive, study_uid, series_uid, sop_uid, principal=principal)
    if collection is not None and not archive.catalog.study_in_collection(study_uid, collection):
        raise NotFoundError("no such study in this collection")
    return rows


def build_dicomweb_router(*, per_collection: bool) -> APIRouter:
    """The DICOMweb routes at the service root, or under ``/collections/{collection}``."""
    prefix = "/dicomweb/collections/{collection}" if per_collection else "/dicomweb"
    scoped = [Depends(collection_path)] if per_collection else []  # declares {collection}
    router = APIRouter(prefix=prefix, tags=["DICOMweb"], dependencies=scoped)

    def scope(request: Request) -> str | None:
        return request.path_params.get("collection") if per_collection else None

    def selected(
        archive: Archive,
        principal: Principal,
        request: Request,
        study_uid: str,
        series_uid: str | None = None,
        sop_uid: str | None = None,
    ) -> list[wado.StoredInstance]:
        return select_scoped(archive, principal, scope(request), study_uid, series_uid, sop_uid)

    # --- STOW-RS -------------------------------------------------------------------------------

    async def store(
        request: Request, archive: Archive, principal: Principal, study_uid: str | None
    ) -> Response:
        # Storing is curating: an administrator's token from anywhere, or this machine without a
        # token where the operator allows it (ria demo, ria serve --local-curators). A signed-in
        # non-administrator is refused even here — they said who they are.
        curator = principal.is_admin or (principal.is_anonymous and may_curate_locally(request))
        if not curator:
            raise ForbiddenError(
                "STOW-RS stores as a curator: send an administrator's token "
                "(ria users add NAME --admin; ria users token NAME)"
            )
        name = scope(request) or archive.settings.stow_collection
        if name is None:
            raise InvalidParameterError(
                "collection",
                "STOW-RS needs a collection: POST to /dicomweb/collections/{collection}/studies "
                "(or start the server with --stow-collection NAME)",
            )
        response = await handle_store(archive, request, name, _base_url(request, name), study_uid)
        return _json(response.body, response.status)

    @router.post(
        "/studies",
        summary="STOW-RS: store instances (multipart/related; application/dicom)",
        responses=STORE,
        openapi_extra=STOW_BODY,
    )
    async def stow(request: Request, archive: ArchiveDep, principal: PrincipalDep) -> Response:
        return await store(request, archive, principal, None)

    @router.post(
        "/studies/{study}",
        summary="STOW-RS: store instances of one study",
        responses=STORE,
        openapi_extra=STOW_BODY,
    )
    async def stow_study(
        study: StudyUID, request: Request, archive: ArchiveDep, principal: PrincipalDep
    ) -> Response:
        return await store(request, archive, principal, study)

    # --- QIDO-RS -------------------------------------------------------------------------------

    async def search(
        request: Request,
        archive: Archive,
        principal: Principal,
        level: qido.Level,
        study_uid: str | None = None,
        series_uid: str | None = None,
    ) -> Response:
        _check_json_accept(request)
        params = list(request.query_params.multi_items())
        query = qido.parse_query(level, params, study_uid=study_uid, series_uid=series_uid)
        name = scope(request)
        if name is not None:
            if query.collection not in (None, name):
                raise InvalidParameterError("collection", "this service root searches one collection only")
            query = qido.QidoQuery(**{**query.__dict__, "collection": name})
        items, truncated = await run_in_threadpool(
            qido.stream_search, archive.engine, query, _base_url(request, name), principal
        )
        first, _ = await run_in_threadpool(peek, items)  # the query's errors are still error responses
        headers = {}
        if truncated:
            headers["Warning"] = '299 ria "There are more results than the limit; request them with offset"'
        if first is None:
            return _json([], headers=headers)
        pieces = itertools.chain(
            ("[", json.dumps(first)), (", " + json.dumps(item) for item in items), ("]",)
        )
        return ChunkStream(chunked(pieces), source=items, media_type=DICOM_JSON, headers=headers)

    @router.get("/studies", summary="QIDO-RS: search for studies", responses=SEARCH)
    async def search_studies(request: Request, archive: ArchiveDep, principal: PrincipalDep) -> Response:
        return await search(request, archive, principal, "study")

    @router.get("/series", summary="QIDO-RS: search for series in all studies", responses=SEARCH)
    async def search_all_series(request: Request, archive: ArchiveDep, principal: PrincipalDep) -> Response:
        return await search(request, archive, principal, "series")

    @router.get("/studies/{study}/series", summary="QIDO-RS: search for series of a study", responses=SEARCH)
    async def search_series(
        study: StudyUID, request: Request, archive: ArchiveDep, principal: PrincipalDep
    ) -> Response:
        return await search(request, archive, principal, "series", study)

    @router.get("/instances", summary="QIDO-RS: search for instances in all studies", responses=SEARCH)
    async def search_all_instances(
        request: Request, archive: ArchiveDep, principal: PrincipalDep
    ) -> Response:
        return await search(request, archive, principal, "instance")

    @router.get(
        "/studies/{study}/instances", summary="QIDO-RS: search for instances of a study", responses=SEARCH
    )
    async def search_study_instances(
        study: StudyUID, request: Request, archive: ArchiveDep, principal: PrincipalDep
    ) -> Response:
        return await search(request, archive, principal, "instance", study)

    @router.get(
        "/studies/{study}/series/{series}/instances",
        summary="QIDO-RS: search instances of a series",
        responses=SEARCH,
    )
    async def search_instances(
        study: StudyUID, series: SeriesUID, request: Request, archive: ArchiveDep, principal: PrincipalDep
    ) -> Response:
        return await search(request, archive, principal, "instance", study, series)

    # --- WADO-RS -------------------------------------------------------------------------------

    async def retrieve(
        request: Request,
        archive: Archive,
        principal: Principal,
        study: str,
        series: str | None = None,
        sop: str | None = None,
    ) -> Response:
        rows = await run_in_threadpool(selected, archive, principal, request, study, series, sop)
        _dicom_accept(request, {row.transfer_syntax_uid for row in rows})

        def parts() -> Iterator[tuple[str, Iterator[bytes]]]:
            objects = archive.store.read_objects([row.blob_key for row in rows])
            for row, (_key, chunks) in zip(rows, objects, strict=True):
                media = "application/dicom"
                if row.transfer_syntax_uid:
                    media += f'; transfer-syntax="{row.transfer_syntax_uid}"'
                yield media, chunks

        return _multipart(parts(), "application/dicom")

    @router.get("/studies/{study}", summary="WADO-RS: a study's instances", responses=INSTANCES)
    async def retrieve_study(
        study: StudyUID, request: Request, archive: ArchiveDep, principal: PrincipalDep
    ) -> Response:
        return await retrieve(request, archive, principal, study)

    @router.get(
        "/studies/{study}/series/{series}", summary="WADO-RS: a series' instances", responses=INSTANCES
    )
    async def retrieve_series(
        study: StudyUID, series: SeriesUID, request: Request, archive: ArchiveDep, principal: PrincipalDep
    ) -> Response:
        return await retrieve(request, archive, principal, study, series)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}",
        summary="WADO-RS: one instance",
        responses=INSTANCES,
    )
    async def retrieve_instance(
        study: StudyUID,
        series: SeriesUID,
        sop: SopUID,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
    ) -> Response:
        return await retrieve(request, archive, principal, study, series, sop)

    async def metadata(
        request: Request,
        archive: Archive,
        principal: Principal,
        study: str,
        series: str | None = None,
        sop: str | None = None,
    ) -> Response:
        _check_json_accept(request)
        rows = await run_in_threadpool(selected, archive, principal, request, study, series, sop)
        base = _base_url(request, scope(request))

        def body() -> Iterator[bytes]:
            yield b"["
            for index, row in enumerate(rows):
                yield (b"," if index else b"") + json.dumps(
                    wado.instance_metadata(archive, row, base)
                ).encode()
            yield b"]"

        return StreamingResponse(body(), media_type=DICOM_JSON)

    @router.get(
        "/studies/{study}/metadata", summary="WADO-RS: a study's metadata (DICOM JSON)", responses=METADATA
    )
    async def study_metadata(
        study: StudyUID, request: Request, archive: ArchiveDep, principal: PrincipalDep
    ) -> Response:
        return await metadata(request, archive, principal, study)

    @router.get(
        "/studies/{study}/series/{series}/metadata", summary="WADO-RS: a series' metadata", responses=METADATA
    )
    async def series_metadata(
        study: StudyUID, series: SeriesUID, request: Request, archive: ArchiveDep, principal: PrincipalDep
    ) -> Response:
        return await metadata(request, archive, principal, study, series)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/metadata",
        summary="WADO-RS: instance metadata",
        responses=METADATA,
    )
    async def instance_metadata(
        study: StudyUID,
        series: SeriesUID,
        sop: SopUID,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
    ) -> Response:
        return await metadata(request, archive, principal, study, series, sop)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/frames/{frames}",
        summary="WADO-RS: frames",
        responses=FRAMES,
    )
    async def retrieve_frames(
        study: StudyUID,
        series: SeriesUID,
        sop: SopUID,
        frames: str,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
    ) -> Response:
        return await frames_of(request, archive, principal, (study, series, sop), frames)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/frames",
        summary="WADO-RS: every frame (the pixel data's BulkDataURI in metadata)",
        responses=FRAMES,
    )
    async def retrieve_all_frames(
        study: StudyUID,
        series: SeriesUID,
        sop: SopUID,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
    ) -> Response:
        return await frames_of(request, archive, principal, (study, series, sop), None)

    async def frames_of(
        request: Request,
        archive: Archive,
        principal: Principal,
        uids: tuple[str, str, str],
        frames: str | None,
    ) -> Response:
        """The frames a list names, or every frame: clients follow the metadata's BulkDataURI as given."""
        numbers = None if frames is None else wado.parse_frame_numbers(frames)
        (row,) = await run_in_threadpool(selected, archive, principal, request, *uids)
        layout = await run_in_threadpool(wado.frame_layout, archive, row)
        numbers = numbers or list(range(1, len(layout.spans) + 1))
        for number in numbers:
            if number > len(layout.spans):
                raise NotFoundError(f"frame {number} does not exist: the instance has {len(layout.spans)}")
        _frame_accept(request, layout.media_type)
        part_type = f'{layout.media_type}; transfer-syntax="{layout.transfer_syntax}"'
        parts = ((part_type, wado.iter_frame(archive, row, layout.spans[n - 1])) for n in numbers)
        return _multipart(parts, layout.media_type)

    @router.get(
        "/studies/{study}/series/{series}/instances/{sop}/bulkdata/{path:path}",
        summary="WADO-RS: bulk data",
        responses=BULKDATA,
    )
    async def retrieve_bulkdata(
        study: StudyUID,
        series: SeriesUID,
        sop: SopUID,
        path: str,
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
    ) -> Response:
        (row,) = await run_in_threadpool(selected, archive, principal, request, study, series, sop)
        value = await run_in_threadpool(wado.bulk_value, archive, row, path)
        return _multipart(iter([("application/octet-stream", iter([value]))]), "application/octet-stream")

    return router


def _frame_accept(request: Request, media_type: str) -> None:
    accepted = parse_accept(request.headers.get("accept"))
    if not accepted:
        return
    for media in accepted:
        if media.type in ("*/*", "multipart/*"):
            return
        if media.type == "multipart/related":
            part = media.params.get("type", "application/octet-stream")
            wanted = media.params.get("transfer-syntax", "")
            if part in (media_type, "*/*") or (part == "application/octet-stream" and wanted == "*"):
                return
    raise NotAcceptableError(
        f'these frames are served as multipart/related; type="{media_type}"; Ria does not transcode'
    )
