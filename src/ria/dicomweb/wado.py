"""WADO-RS (PS3.18 §10.4): instances, metadata, bulk data and frames, read from the blob store.

Retrieval streams stored bytes as they are (no transcoding). Metadata is the DICOM
JSON model of each instance's header with every large binary value — pixel data
above all — replaced by a BulkDataURI into this service, so a study's metadata
never carries its pixels. Frames are located without reading the pixel data:
native frames by arithmetic, encapsulated frames with pydicom's ``encaps`` parsers
(Extended Offset Table, else Basic Offset Table, else one fragment per frame, else —
several fragments per frame and no table — the JPEG end markers pydicom looks for),
then streamed as byte ranges. A deflated file's frames are cut from its inflated
pixel data: the deflate is of the whole data set, so there is no byte range to stream.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import pydicom
from pydicom import encaps
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from sqlalchemy import select

from ria.access.principal import Principal
from ria.bounds import parse_int
from ria.catalog.schema import collection, instance, patient, series, study
from ria.catalog.visibility import visible_collections
from ria.dicom.streams import PlainStream
from ria.dicomweb.dicomjson import computed_attribute
from ria.errors import InvalidParameterError, NotAcceptableError, NotFoundError
from ria.remote import fetch_for_retrieve, first_remote, remote_refusal

if TYPE_CHECKING:
    from ria.archive import Archive

__all__ = [
    "FrameLayout",
    "StoredInstance",
    "frame_layout",
    "frame_media_type",
    "instance_metadata",
    "is_deflated",
    "parse_frame_numbers",
    "read_header",
    "select_instances",
]

BULK_DATA_THRESHOLD = 1024
_PIXEL_DATA = 0x7FE00010
_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"
_DEFLATED = "1.2.840.10008.1.2.1.99"
_NATIVE = frozenset(
    {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99"}
)
_FRAME_MEDIA = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": "image/x-dicom-rle",
}


@dataclass(frozen=True)
class StoredInstance:
    """One catalogued instance and where its bytes are."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str | None
    blob_key: str
    size: int


def _visible(archive: Archive, principal: Principal, study_uid: str, series_uid: str | None) -> bool:
    """Whether the study (and series) exists in a collection ``principal`` may see."""
    statement = (
        select(study.c.id)
        .select_from(
            study.join(patient, study.c.patient_pk == patient.c.id).join(
                collection, patient.c.collection_id == collection.c.id
            )
        )
        .where(study.c.study_instance_uid == study_uid, visible_collections(principal))
    )
    if series_uid is not None:
        statement = statement.join(series, series.c.study_pk == study.c.id).where(
            series.c.series_instance_uid == series_uid
        )
    with archive.engine.connect() as conn:
        return conn.execute(statement.limit(1)).first() is not None


def select_instances(
    archive: Archive,
    study_uid: str,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    *,
    principal: Principal,
) -> list[StoredInstance]:
    """The instances a WADO-RS path names, in series and instance-number order; 404 if none.

    What ``principal`` may not see is answered exactly like what does not exist (404, the
    same message), before anything is fetched or a remote series' location is told.
    """
    what = "instance" if sop_uid else "series" if series_uid else "study"
    if not _visible(archive, principal, study_uid, series_uid):
        raise NotFoundError(f"no such {what} in this archive")
    statement = (
        select(
            study.c.study_instance_uid,
            series.c.series_instance_uid,
            instance.c.sop_instance_uid,
            instance.c.sop_class_uid,
            instance.c.transfer_syntax_uid,
            instance.c.blob_key,
            instance.c.size,
        )
        .select_from(
            instance.join(series, instance.c.series_pk == series.c.id).join(
                study, series.c.study_pk == study.c.id
            )
        )
        .where(study.c.study_instance_uid == study_uid)
        .order_by(
            series.c.series_number, series.c.series_instance_uid, instance.c.instance_number, instance.c.id
        )
    )
    if series_uid is not None:
        statement = statement.where(series.c.series_instance_uid == series_uid)
    if sop_uid is not None:
        statement = statement.where(instance.c.sop_instance_uid == sop_uid)
    # Instances of a remote series being fetched are not served until the whole series is local.
    statement = statement.where(series.c.is_remote.is_(False))
    fetch_for_retrieve(archive, study_uid, series_uid)
    with archive.engine.connect() as conn:
        rows = [StoredInstance(*row) for row in conn.execute(statement)]
    if not rows:
        _raise_if_remote(archive, study_uid, series_uid)
        raise NotFoundError(f"no such {what} in this archive")
    return rows


def _raise_if_remote(archive: Archive, study_uid: str, series_uid: str | None) -> None:
    """A path naming only remote (metadata-only) series gets a 409 saying where the images are, not a 404."""
    remote = first_remote(archive, study_uid, series_uid)
    if remote is None:
        return
    subject = None if series_uid else f"study {study_uid} has only series that are"
    raise remote_refusal(archive.settings, remote, verb="retrieve", subject=subject)


def read_header(stream: BinaryIO) -> tuple[Dataset, tuple[str, int, int] | None]:
    """The data set before the pixel data, and (VR, value offset, value length) of the pixel data.

    A deflated file's pixel data has no offset in the stored bytes: it is reported as None
    (see :func:`is_deflated`).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(PlainStream(stream), stop_before_pixels=True)
    start = stream.tell()
    head = stream.read(12)
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    endian = ">" if syntax == _EXPLICIT_BE else "<"
    if syntax == _DEFLATED or len(head) < 8 or struct.unpack(f"{endian}HH", head[:4]) != (0x7FE0, 0x0010):
        return ds, None
    if syntax == _IMPLICIT_LE:
        return ds, ("OW", start + 8, struct.unpack("<I", head[4:8])[0])
    vr = head[4:6].decode("latin-1")
    return ds, (vr, start + 12, struct.unpack(f"{endian}I", head[8:12])[0])


def instance_metadata(archive: Archive, stored: StoredInstance, base_url: str) -> dict[str, Any]:
    """One instance's DICOM JSON, large binary values (and the pixel data) as BulkDataURIs.

    The header's own elements are encoded as the file has them: an element the file holds
    empty stays PS3.18 F.2.5's ``{"vr": ...}`` without ``Value`` (it is present and empty, and
    nothing could be computed for it); values from the catalogue go through
    :func:`~ria.dicomweb.dicomjson.computed_attribute`, which leaves an unknown one out.
    """
    url = (
        f"{base_url}/studies/{stored.study_instance_uid}/series/{stored.series_instance_uid}"
        f"/instances/{stored.sop_instance_uid}"
    )
    with archive.store.open(stored.blob_key) as stream:
        ds, pixels = read_header(stream)
    paths = _element_paths(ds)

    def bulk(element: DataElement) -> str:
        return f"{url}/bulkdata/{paths.get(id(element), f'{element.tag:08X}')}"

    body: dict[str, Any] = ds.to_json_dict(
        bulk_data_threshold=BULK_DATA_THRESHOLD, bulk_data_element_handler=bulk
    )
    # From the catalogue, so left out when unknown.
    syntax = computed_attribute("UI", stored.transfer_syntax_uid)
    if syntax is not None:
        body["00020010"] = syntax
    if pixels is not None:
        body["7FE00010"] = {
            "vr": pixels[0] if pixels[0] in ("OB", "OW") else "OW",
            "BulkDataURI": f"{url}/frames",
        }
    return dict(sorted(body.items()))


def _element_paths(ds: Dataset, prefix: str = "") -> dict[int, str]:
    """A bulk data path for every element, nested ones as ``SEQTAG/ITEM/TAG``."""
    paths: dict[int, str] = {}
    for element in ds:
        path = f"{prefix}{element.tag:08X}"
        paths[id(element)] = path
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                paths.update(_element_paths(item, f"{path}/{index}/"))
    return paths


def bulk_value(archive: Archive, stored: StoredInstance, path: str) -> bytes:
    """The value of the element a bulk data path names (not the pixel data: that is served as frames)."""
    parts = path.strip("/").split("/")
    if len(parts) % 2 == 0:
        raise InvalidParameterError("path", f"bulk data path {path!r} is malformed")
    with archive.store.open(stored.blob_key) as stream:
        ds, _pixels = read_header(stream)
    current: Dataset = ds
    try:
        for depth in range(0, len(parts) - 1, 2):
            current = current[int(parts[depth], 16)].value[int(parts[depth + 1])]
        element = current[int(parts[-1], 16)]
    except (KeyError, IndexError, ValueError, TypeError):
        raise NotFoundError(f"no bulk data at {path!r} in this instance") from None
    value = element.value
    if not isinstance(value, bytes):
        raise NotFoundError(f"the element at {path!r} is not bulk data")
    return value


@dataclass(frozen=True)
class FrameLayout:
    """Where each frame's bytes are: a list of (offset, length) spans per frame, and their syntax."""

    media_type: str
    spans: list[list[tuple[int, int]]]
    rows: int
    columns: int
    transfer_syntax: str


def parse_frame_numbers(text: str, parameter: str = "frames") -> list[int]:
    """``1,3,5`` as frame numbers (1-based), refusing anything else (400 naming ``parameter``)."""
    # NumberOfFrames is an IS: at most 2**31 - 1 frames.
    return [parse_int(parameter, part, minimum=1, maximum=2**31 - 1) for part in text.split(",")]


def frame_media_type(transfer_syntax: str | None) -> str:
    syntax = transfer_syntax or _EXPLICIT_LE
    if syntax in _NATIVE:
        return "application/octet-stream"
    media = _FRAME_MEDIA.get(syntax)
    if media is None:
        raise NotAcceptableError(f"frames of transfer syntax {syntax} cannot be served on their own")
    return media


def is_deflated(ds: Dataset) -> bool:
    """Whether ``ds`` was stored in Deflated Explicit VR Little Endian (its pixels have no byte range)."""
    return str(ds.file_meta.get("TransferSyntaxUID", "")) == _DEFLATED


def _native_spans(ds: Dataset, offset: int) -> list[list[tuple[int, int]]]:
    """Native frames by arithmetic: each is Rows x Columns x Samples x BitsAllocated / 8 bytes."""
    bits = int(ds.get("BitsAllocated", 16))
    if bits % 8:
        raise NotAcceptableError(f"frames of {bits}-bit pixel data cannot be served on their own")
    size = int(ds.get("Rows", 0)) * int(ds.get("Columns", 0)) * int(ds.get("SamplesPerPixel", 1)) * bits // 8
    return [[(offset + index * size, size)] for index in range(int(ds.get("NumberOfFrames", 1) or 1))]


def frame_layout(archive: Archive, stored: StoredInstance) -> FrameLayout:
    """Locate every frame of an instance without reading its pixel data (a deflated one is inflated)."""
    with archive.store.open(stored.blob_key) as stream:
        ds, pixels = read_header(stream)
        rows, columns = int(ds.get("Rows", 0)), int(ds.get("Columns", 0))
        syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
        if is_deflated(ds):
            inflated = _inflated_pixels(stream)
            return FrameLayout(
                "application/octet-stream", _native_spans(inflated, 0), rows, columns, _EXPLICIT_LE
            )
        if pixels is None:
            raise NotFoundError("this instance has no pixel data")
        media = frame_media_type(syntax)
        _vr, offset, _length = pixels
        native = syntax in _NATIVE
        spans = _native_spans(ds, offset) if native else _encapsulated_spans(stream, offset, ds)
        return FrameLayout(media, spans, rows, columns, syntax)


def _inflated_pixels(stream: BinaryIO) -> Dataset:
    """A deflated file read whole (pydicom inflates it), refusing one without pixel data."""
    stream.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(PlainStream(stream))
    if "PixelData" not in ds:
        raise NotFoundError("this instance has no pixel data")
    return ds


def _encapsulated_spans(stream: BinaryIO, offset: int, ds: Dataset) -> list[list[tuple[int, int]]]:
    """Each frame's fragments, found the way pydicom finds them (PS3.5 A.4), without reading them."""
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    stream.seek(offset)
    try:
        basic = encaps.parse_basic_offsets(stream)  # leaves the stream at the first fragment's item tag
        first = stream.tell()
        count, starts = encaps.parse_fragments(stream)
        stream.seek(starts[-1] + 4)
        (last,) = struct.unpack("<I", stream.read(4))
    except (ValueError, IndexError, struct.error):
        raise NotAcceptableError("this instance's encapsulated pixel data is malformed") from None
    ends = [*starts[1:], starts[-1] + 8 + last]
    fragments = [(start + 8, end - start - 8) for start, end in zip(starts, ends, strict=True)]
    if "ExtendedOffsetTable" in ds and "ExtendedOffsetTableLengths" in ds:  # PS3.3 C.7.6.3.1.8
        table, lengths = (
            bytes(ds[name].value) for name in ("ExtendedOffsetTable", "ExtendedOffsetTableLengths")
        )
        offsets = struct.unpack(f"<{len(table) // 8}Q", table)
        sizes = struct.unpack(f"<{len(lengths) // 8}Q", lengths)
        return [[(first + at + 8, size)] for at, size in zip(offsets, sizes, strict=True)]
    if basic:
        bounds = [*basic, ends[-1] - first]
        return [
            [
                span
                for start, span in zip(starts, fragments, strict=True)
                if bounds[i] <= start - first < bounds[i + 1]
            ]
            for i in range(len(basic))
        ]
    if frames == 1:
        return [fragments]
    if count == frames:
        return [[span] for span in fragments]
    return _marked_frames(stream, offset, frames, fragments)


def _marked_frames(
    stream: BinaryIO, offset: int, frames: int, fragments: list[tuple[int, int]]
) -> list[list[tuple[int, int]]]:
    """Several fragments per frame and no offset table: pydicom groups them by JPEG end-of-image markers.

    This reads the fragments (one frame at a time), the only case that does.
    """
    stream.seek(offset)
    sizes: list[int] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sizes = [
                len(frame) for frame in encaps.generate_fragmented_frames(stream, number_of_frames=frames)
            ]
        except ValueError:
            sizes = []
    if len(sizes) != frames:
        raise NotAcceptableError(
            f"the frame boundaries of this instance's {len(fragments)} fragments cannot be found: "
            "no offset table, and no JPEG end markers giving its frames"
        )
    spans: list[list[tuple[int, int]]] = []
    for size in sizes:
        spans.append(fragments[:size])
        fragments = fragments[size:]
    return spans


def iter_frame(archive: Archive, stored: StoredInstance, spans: Sequence[tuple[int, int]]) -> Iterator[bytes]:
    """Stream one frame's bytes (its fragments, in order); a deflated file's are cut from its pixels."""
    if stored.transfer_syntax_uid == _DEFLATED:
        with archive.store.open(stored.blob_key) as stream:
            pixels = bytes(_inflated_pixels(stream).PixelData)
        for start, length in spans:
            yield pixels[start : start + length]
        return
    for start, length in spans:
        yield from archive.store.open_range(stored.blob_key, start, start + length)
