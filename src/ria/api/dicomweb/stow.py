"""A STOW-RS request: stream the multipart body into a spool, ingest it, answer per instance.

Parts are written to disk as they arrive (memory stays flat for any request
size). A part that is not ``application/dicom``, that the body cut off, or that
belongs to another study than the URL names is refused on its own — the rest of
the request is still stored — and only complete parts reach ingest, so nothing
half-written is ever catalogued.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ria.archive import Archive
from ria.dicomweb.multipart import MultipartReader, PartReceipt, parse_media_type
from ria.dicomweb.stow import (
    FAILURE_CANNOT_UNDERSTAND,
    FAILURE_STUDY_MISMATCH,
    PartFailure,
    StoreResponse,
    store_response,
)
from ria.errors import ConflictError, InvalidParameterError, UnsupportedMediaTypeError
from ria.ingestion.receive import Spool, offered_uids, receive

__all__ = ["handle_store"]


def _screen(spool: Spool, receipts: list[PartReceipt], study_uid: str | None) -> list[PartFailure]:
    """Refuse parts before ingest: cut off, not application/dicom, or outside the URL's study."""
    failures = []
    for receipt in receipts:
        media = parse_media_type(receipt.content_type or "application/dicom")
        reason = None
        if not receipt.complete:
            reason = "the request body ended inside this part (truncated upload)"
        elif media.type != "application/dicom":
            reason = f"part Content-Type {media.type} is not application/dicom"
        elif study_uid is not None:
            sop_class, sop_instance, offered, _series = offered_uids(spool.path(receipt.index))
            if offered is not None and offered != study_uid:
                mismatch = PartFailure(
                    receipt.index, FAILURE_STUDY_MISMATCH, "another study", sop_class, sop_instance
                )
                failures.append(mismatch)
                spool.discard(receipt.index)
                continue
        if reason is not None:
            failures.append(PartFailure(receipt.index, FAILURE_CANNOT_UNDERSTAND, reason))
            spool.discard(receipt.index)
    return failures


async def handle_store(
    archive: Archive, request: Request, collection: str, base_url: str, study_uid: str | None
) -> StoreResponse:
    content_type = request.headers.get("content-type", "")
    part_type = parse_media_type(content_type).params.get("type")
    if part_type not in (None, "application/dicom"):
        raise UnsupportedMediaTypeError(
            f"STOW-RS takes multipart/related parts of application/dicom; {part_type} is not supported"
        )
    with Spool(archive.settings.data_dir) as spool:

        def sink(_index: int) -> object:
            return spool.open_writer()[1]

        reader = MultipartReader(content_type, sink)  # type: ignore[arg-type]
        async for chunk in request.stream():
            reader.write(chunk)
        receipts = reader.finish()
        if not receipts:
            raise InvalidParameterError("body", "the multipart/related body holds no parts")
        failures = await run_in_threadpool(_screen, spool, receipts, study_uid)
        try:
            answers = await run_in_threadpool(receive, archive, spool, collection)
        except InvalidParameterError as exc:
            # The collection's configuration, not the request, is at fault (e.g. no stored ID map).
            raise ConflictError(exc.message) from None
    coerced = archive.required_profile(collection) is not None
    return store_response(answers, failures, base_url, study_uid=study_uid, coerced=coerced)
