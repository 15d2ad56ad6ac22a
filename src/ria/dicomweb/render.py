"""Rendered images (PS3.18 §8.3.5 and WADO-URI): a frame as JPEG or PNG, through pydicom's pixel pipeline.

Why pydicom's own functions rather than a formula of Ria's: the Modality LUT (rescale or
Modality LUT Sequence), the VOI transform (a window with its VOILUTFunction — LINEAR,
LINEAR_EXACT, SIGMOID — or a VOI LUT Sequence), palette colour and YBR-to-RGB are the parts
of PS3.3 that viewers disagree on; pydicom implements and tests each one
(``apply_modality_lut``, ``apply_voi``/``apply_windowing``, ``apply_color_lut``,
``convert_color_space``), so a picture from Ria is the one pydicom users already get.

Only the frame asked for is decoded: pydicom's decoder reads that frame alone from the
stored file, as ``pydicom.pixels.pixel_array(stream, index=)`` does (an encapsulated frame
is found through the Basic or Extended Offset Table, or the fragments' JPEG markers).
A deflated file is the exception: its data set, pixels included, is one deflate stream,
so it is inflated whole first.

The VOI output is asked of pydicom at a display depth of 8 bits (the window is applied
as if BitsStored were 8), so the grey levels are pydicom's, not a rescaling of them;
a VOI LUT's, palette's or colour frame's values deeper than 8 bits keep their high byte.
MONOCHROME1 is inverted so that bright means dense, as viewers show it.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi,
    apply_windowing,
    convert_color_space,
)
from pydicom.pixels.utils import as_pixel_options, pixel_array
from pydicom.uid import UID

from ria.bounds import parse_int
from ria.dicom.streams import PlainStream
from ria.dicomweb import wado
from ria.errors import ConfigurationError, InvalidParameterError, NotAcceptableError, NotFoundError

if TYPE_CHECKING:
    from ria.archive import Archive
    from ria.dicomweb.wado import StoredInstance

__all__ = [
    "RENDERED_TYPES",
    "RenderOptions",
    "Window",
    "check_frames",
    "display_window",
    "frame_count",
    "parse_viewport",
    "parse_window",
    "render_frame",
    "render_frames",
    "representative",
]

logger = logging.getLogger(__name__)

RENDERED_TYPES = ("image/jpeg", "image/png")
THUMBNAIL_SIZE = 128
MAX_VIEWPORT = 65_535  # a picture's side in pixels; JPEG cannot be larger
_FUNCTIONS = {"linear": "LINEAR", "linear-exact": "LINEAR_EXACT", "sigmoid": "SIGMOID"}
_YBR = (
    "YBR_FULL",
    "YBR_FULL_422",
)  # what convert_color_space turns into RGB (J2K's YBR_ICT/RCT decode as RGB)


@dataclass(frozen=True)
class Window:
    """A VOI window: PS3.3 C.11.2.1.2's center and width, and the VOI LUT function that applies them."""

    center: float
    width: float
    function: str = "LINEAR"


@dataclass(frozen=True)
class RenderOptions:
    """What the request asks of the picture."""

    media_type: str = "image/jpeg"
    window: Window | None = None
    viewport: tuple[int, int] | None = None
    quality: int = 90


def parse_window(text: str | None) -> Window | None:
    """``center,width[,function]`` (PS3.18 §8.3.5.1.4's ``window``; linear, linear-exact or sigmoid)."""
    if not text:
        return None
    parts = [part.strip() for part in text.split(",")]
    function = _FUNCTIONS.get(parts[2].lower()) if len(parts) == 3 else "LINEAR"
    if len(parts) not in (2, 3) or function is None:
        raise InvalidParameterError(
            "window", "window is center,width[,function], function linear, linear-exact or sigmoid"
        )
    try:
        center, width = float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidParameterError(
            "window", f"window {text[:40]!r}: center and width must be numbers"
        ) from None
    if not (math.isfinite(center) and math.isfinite(width)):  # nan/inf would window every pixel to nonsense
        raise InvalidParameterError("window", f"window {text[:40]!r}: center and width must be finite")
    if function == "LINEAR" and width < 1:
        raise InvalidParameterError("window", "a linear window's width must be at least 1")
    if width <= 0:
        raise InvalidParameterError("window", "window width must be greater than 0")
    return Window(center, width, function)


def parse_viewport(text: str | None) -> tuple[int, int] | None:
    """``width,height`` of the largest picture wanted (the aspect ratio is kept)."""
    if not text:
        return None
    parts = text.split(",")
    if len(parts) != 2:
        raise InvalidParameterError("viewport", "viewport is width,height in pixels, e.g. 256,256")
    width, height = (parse_int("viewport", part, minimum=1, maximum=MAX_VIEWPORT) for part in parts)
    return width, height


def display_window(window: Window) -> Dataset:
    """A VOI LUT module holding ``window`` whose output range is 8 bits (0..255), for ``apply_windowing``.

    pydicom's windowing maps onto the range BitsStored gives; stating 8 here (and no rescale,
    the Modality LUT having been applied already) makes its output the display's grey levels.
    The values are FD, not DS, so any float is held exactly.
    """
    ds = Dataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsStored = 8
    ds.PixelRepresentation = 0
    ds.add_new(0x00281050, "FD", window.center)  # Window Center
    ds.add_new(0x00281051, "FD", window.width)  # Window Width
    ds.VOILUTFunction = window.function
    return ds


def _modules() -> tuple[Any, Any]:
    try:
        import numpy
        from PIL import Image
    except ImportError:
        raise ConfigurationError("rendered images need the render extra: pip install 'ria[render]'") from None
    return numpy, Image


def _frames_of(header: Dataset) -> int:
    return int(header.get("NumberOfFrames", 1) or 1)


def frame_count(archive: Archive, stored: StoredInstance) -> int:
    """How many frames ``stored`` has to render (0: no pixel data, e.g. a structured report)."""
    with archive.store.open(stored.blob_key) as stream:
        header, pixels = wado.read_header(stream)
    if pixels is None and not wado.is_deflated(header):
        return 0
    return _frames_of(header)


def _decode(archive: Archive, stored: StoredInstance, frame: int) -> tuple[Any, Dataset]:
    """Frame ``frame`` (1-based) as pydicom decodes it (colour as stored, not yet RGB), and the header.

    The header is read once (:func:`ria.dicomweb.wado.read_header`, which also finds the pixel
    data) and handed to pydicom's decoder with the stream at the pixel data's value, as
    ``pixel_array(stream, index=)`` does after reading the header itself.
    """
    with archive.store.open(stored.blob_key) as stream:
        header, pixels = wado.read_header(stream)
        deflated = wado.is_deflated(header)
        if pixels is None and not deflated:
            raise NotFoundError("this instance has no pixel data to render")
        frames = _frames_of(header)
        if frame > frames:
            raise NotFoundError(f"frame {frame} does not exist: the instance has {frames}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if pixels is None:  # deflated: the pixels are inside the deflate stream; inflate it whole
                    stream.seek(0)
                    header = pydicom.dcmread(PlainStream(stream))
                    if "PixelData" not in header:
                        raise NotFoundError("this instance has no pixel data to render")
                    return pixel_array(header, index=frame - 1, as_rgb=False), header
                return _decode_at(stream, header, pixels, frame), header
        except NotFoundError:
            raise
        except Exception as exc:  # no decoder for this transfer syntax, or broken pixel data
            raise NotAcceptableError(
                f"this instance's pixel data cannot be decoded for rendering: {exc}"
            ) from None


def _decode_at(stream: Any, header: Dataset, pixels: tuple[str, int, int], frame: int) -> Any:
    """pydicom's decoder on frame ``frame`` of the pixel data at ``pixels`` (VR, value offset, length)."""
    syntax = UID(str(header.file_meta.TransferSyntaxUID))
    options = as_pixel_options(header, transfer_syntax_uid=syntax, pixel_keyword="PixelData")
    if not syntax.is_implicit_VR:
        options["pixel_vr"] = pixels[0]
    options["as_rgb"] = False  # YBR is converted by convert_color_space, in picture_of
    stream.seek(pixels[1])
    source: Any = PlainStream(stream)  # read, seek and tell only: pydicom must not take a file name
    array, _meta = get_decoder(syntax).as_array(source, index=frame - 1, validate=True, **options)
    return array


def _scaled(values: Any, depth: int) -> Any:
    """Integer values of ``depth`` bits as 8-bit ones: their high byte (a 16-bit 0xFF00 is 255, as shown)."""
    import numpy as np

    values = np.asarray(values)
    if depth > 8:
        values = np.right_shift(values, depth - 8)
    return values.astype(np.uint8)


def _header_window(ds: Dataset) -> Window | None:
    """The header's first window and its VOI LUT function, if usable."""
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is None or width is None:
        return None
    function = str(ds.get("VOILUTFunction", "") or "LINEAR").upper()
    if function not in _FUNCTIONS.values():
        function = "LINEAR"  # an unknown function: the default one (PS3.3 C.11.2.1.3)
    if (width < 1) if function == "LINEAR" else (width <= 0):  # what pydicom would refuse
        return None
    return Window(center, width, function)


def _first(value: object) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = next(iter(value))  # type: ignore[call-overload]
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _range_window(values: Any) -> Window:
    """A linear window spanning the frame's own modality values (used when nothing else says)."""
    low, high = float(values.min()), float(values.max())
    width = max(high - low + 1, 1.0)
    return Window(low + (width - 1) / 2 + 0.5, width)


def _voi_lut(ds: Dataset) -> Dataset | None:
    """The first VOI LUT Sequence item if it is usable (pydicom's own test in ``apply_voi_lut``)."""
    items = ds.get("VOILUTSequence")
    if not items:
        return None
    item: Dataset = items[0]
    if item.get("LUTDescriptor") is None or item.get("LUTData") is None:
        return None
    return item


def _grey(pixels: Any, ds: Dataset, asked: Window | None) -> Any:
    """Modality LUT, then the asked window, else the header's VOI LUT or window, else the frame's range."""
    import numpy as np

    values = apply_modality_lut(pixels, ds)
    lut = _voi_lut(ds) if asked is None else None
    if lut is not None:  # PS3.3 C.11.2.1.1: a LUT is preferred to a window when both are present
        indices = values if np.issubdtype(values.dtype, np.integer) else np.rint(values).astype(np.int64)
        return _scaled(apply_voi(indices, ds), int(lut.LUTDescriptor[2]))
    window = asked or _header_window(ds) or _range_window(values)
    try:
        shown = apply_windowing(values, display_window(window))
    except ValueError:  # a header window pydicom refuses: fall back to the frame's range
        logger.debug("header window %s refused by pydicom; using the frame's range", window)
        shown = apply_windowing(values, display_window(_range_window(values)))
    return np.clip(np.rint(shown), 0, 255).astype(np.uint8)


def picture_of(pixels: Any, ds: Dataset, window: Window | None = None) -> Any:
    """A decoded frame (as ``pixel_array(..., as_rgb=False)`` gives it) as 8-bit grey or RGB pixels."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric == "PALETTE COLOR":
        depth = int(ds.RedPaletteColorLookupTableDescriptor[2])
        return _scaled(apply_color_lut(pixels, ds), depth)
    if int(ds.get("SamplesPerPixel", 1)) > 1:
        if photometric in _YBR:
            pixels = convert_color_space(pixels, photometric, "RGB")
        return _scaled(pixels, int(ds.get("BitsStored", 8)))
    picture = _grey(pixels, ds, window)
    return 255 - picture if photometric == "MONOCHROME1" else picture


def _encode(picture: Any, options: RenderOptions) -> bytes:
    _numpy, image_module = _modules()
    image = image_module.fromarray(picture)
    if options.viewport is not None:
        image.thumbnail(options.viewport)
    out = io.BytesIO()
    if options.media_type == "image/png":
        image.save(out, format="PNG")
    else:
        image.save(out, format="JPEG", quality=options.quality)
    return out.getvalue()


def render_frame(archive: Archive, stored: StoredInstance, frame: int, options: RenderOptions) -> bytes:
    """One frame (1-based) of ``stored`` as ``options.media_type`` bytes."""
    _modules()
    if options.media_type not in RENDERED_TYPES:
        raise NotAcceptableError(
            f"rendered images are {' or '.join(RENDERED_TYPES)}, not {options.media_type}"
        )
    pixels, ds = _decode(archive, stored, frame)
    try:
        picture = picture_of(pixels, ds, options.window)
    except (ValueError, AttributeError, KeyError, NotImplementedError) as exc:  # LUTs pydicom cannot apply
        raise NotAcceptableError(f"this instance's pixels cannot be rendered: {exc}") from None
    return _encode(picture, options)


def render_frames(
    archive: Archive,
    rows: Sequence[StoredInstance],
    options: RenderOptions,
    frames: Sequence[int] | None = None,
) -> Iterator[bytes]:
    """Each instance's frames (``frames`` if given, else all), rendered one at a time, in order.

    Instances without pixel data (a report in an imaging series) have no rendered form and
    are passed over. Only one frame is decoded and held at a time.
    """
    for row in rows:
        numbers = frames if frames is not None else range(1, frame_count(archive, row) + 1)
        for number in numbers:
            yield render_frame(archive, row, number, options)


def check_frames(archive: Archive, stored: StoredInstance, frames: Sequence[int]) -> None:
    """404 for a frame number ``stored`` does not have, before a multipart answer starts."""
    count = frame_count(archive, stored)
    if count == 0:
        raise NotFoundError("this instance has no pixel data to render")
    missing = [number for number in frames if number > count]
    if missing:
        raise NotFoundError(f"frame {missing[0]} does not exist: the instance has {count}")


def representative(archive: Archive, rows: Sequence[StoredInstance]) -> StoredInstance:
    """The image standing for a series or study: its middle instance, else the nearest one with pixels."""
    middle = len(rows) // 2
    for index in sorted(range(len(rows)), key=lambda index: abs(index - middle)):
        if frame_count(archive, rows[index]):
            return rows[index]
    raise NotFoundError("nothing here has pixel data to render")
