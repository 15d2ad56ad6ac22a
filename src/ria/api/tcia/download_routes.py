"""TCIA's download endpoints: getImage (streamed ZIP), getImageWithMD5Hash, getSingleImage (with Range).

A ZIP is streamed while it is read from storage — memory stays flat for any
series size — and starts only after every check has passed, so a refusal is
always a clean 4xx with a JSON body, never a truncated archive. getSingleImage
honours ``Range`` (206, or 416 with ``Content-Range: bytes */size``) and
``If-Range`` against its strong ETag, so interrupted downloads resume.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from ria.access import Principal
from ria.api.deps import PrincipalDep, get_archive
from ria.api.openapi import UNSATISFIABLE_RANGE, errors, merge, success, uid_query
from ria.api.tcia.dialect import Dialect
from ria.api.tcia.params import allow_only, require_uid
from ria.archive import Archive
from ria.download.byteranges import content_range, parse_range
from ria.download.series import series_zip
from ria.errors import InvalidParameterError, NotFoundError, RangeNotSatisfiableError
from ria.storage.base import iter_range

__all__ = ["build_download_router"]

ArchiveDep = Annotated[Archive, Depends(get_archive)]
SeriesUid = Annotated[str, uid_query("SeriesInstanceUID")]
SERIES_ZIP = merge(success("The series as a ZIP, streamed.", "application/zip"), errors(404, 409))


def _yes(name: str, value: str | None) -> bool:
    if value is None or value == "":
        return False
    if value.lower() not in ("yes", "no", "true", "false"):
        raise InvalidParameterError(name, f"{name} must be Yes or No, got {value[:20]!r}")
    return value.lower() in ("yes", "true")


def _zip_response(
    archive: Archive, principal: Principal, uid: str, *, new_names: bool, license: bool, md5: bool
) -> Response:
    prepared = series_zip(
        archive, uid, principal=principal, new_file_names=new_names, include_license=license, include_md5=md5
    )
    return StreamingResponse(
        prepared.chunks(archive),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{prepared.filename}"'},
    )


def build_download_router(dialect: Dialect) -> APIRouter:
    """getImage, getImageWithMD5Hash and getSingleImage for one API version."""
    router = APIRouter(prefix=f"/nbia-api/services/{dialect.version}", tags=[f"TCIA {dialect.version}"])

    def strict(*allowed: str) -> list[Any]:
        return [Depends(allow_only(*allowed))] if dialect.strict_parameters else []

    @router.get(
        "/getImage",
        summary="A series as a ZIP: LICENSE, then its DICOM files (streamed)",
        dependencies=strict("SeriesInstanceUID", "NewFileNames", "IncludeMD5"),
        response_class=StreamingResponse,
        responses=SERIES_ZIP,
    )
    def get_image(
        archive: ArchiveDep,
        principal: PrincipalDep,
        series_uid: SeriesUid,
        new_file_names: Annotated[str | None, Query(alias="NewFileNames")] = None,
        include_md5: Annotated[str | None, Query(alias="IncludeMD5")] = None,
    ) -> Response:
        uid = require_uid("SeriesInstanceUID", series_uid)
        new_names = _yes("NewFileNames", new_file_names)
        md5 = _yes("IncludeMD5", include_md5)
        return _zip_response(archive, principal, uid, new_names=new_names, license=True, md5=md5)

    @router.get(
        "/getImageWithMD5Hash",
        summary="A series as a ZIP ending with md5hashes.csv (Filename,MD5Hash)",
        dependencies=strict("SeriesInstanceUID"),
        response_class=StreamingResponse,
        responses=SERIES_ZIP,
    )
    def get_image_with_md5_hash(
        archive: ArchiveDep, principal: PrincipalDep, series_uid: SeriesUid
    ) -> Response:
        uid = require_uid("SeriesInstanceUID", series_uid)
        return _zip_response(archive, principal, uid, new_names=False, license=True, md5=True)

    @router.get(
        "/getSingleImage",
        summary="One DICOM instance (application/dicom), resumable with Range",
        dependencies=strict("SeriesInstanceUID", "SOPInstanceUID"),
        response_class=StreamingResponse,
        responses=merge(
            success("The instance's bytes.", "application/dicom"),
            success("The requested byte range of the instance.", "application/dicom", status=206),
            UNSATISFIABLE_RANGE,
            errors(404),
        ),
    )
    def get_single_image(
        request: Request,
        archive: ArchiveDep,
        principal: PrincipalDep,
        series_uid: SeriesUid,
        sop_uid: Annotated[str, uid_query("SOPInstanceUID")],
    ) -> Response:
        series = require_uid("SeriesInstanceUID", series_uid)
        sop = require_uid("SOPInstanceUID", sop_uid)
        row = archive.catalog.instance(sop, series, principal=principal)
        if row is None:
            raise NotFoundError(
                f"no instance {sop} in series {series}",
                parameter="SOPInstanceUID",
                series_instance_uid=series,
            )
        etag = f'"{row.sha256}"'
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": etag,
            "Content-Disposition": f"attachment; filename={sop}.dcm",
        }
        header = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if if_range is not None and if_range != etag:
            header = None  # the client's partial copy is of other bytes: send everything
        try:
            wanted = parse_range(header, row.size)
        except RangeNotSatisfiableError as exc:
            return Response(status_code=416, headers={**headers, "Content-Range": exc.content_range})
        if request.method == "HEAD":
            return Response(
                headers={**headers, "Content-Length": str(row.size)}, media_type="application/dicom"
            )
        if wanted is None:
            return StreamingResponse(
                iter_range(archive.store, row.blob_key),
                media_type="application/dicom",
                headers={**headers, "Content-Length": str(row.size)},
            )
        return StreamingResponse(
            iter_range(archive.store, row.blob_key, wanted.start, wanted.stop),
            status_code=206,
            media_type="application/dicom",
            headers={**headers, "Content-Range": content_range(wanted), "Content-Length": str(wanted.length)},
        )

    # HEAD tells a resuming client the size and ETag without a body; hidden from the schema
    # because it shares GET's operation.
    router.add_api_route(
        "/getSingleImage",
        get_single_image,
        methods=["HEAD"],
        include_in_schema=False,
        dependencies=strict("SeriesInstanceUID", "SOPInstanceUID"),
    )
    return router
