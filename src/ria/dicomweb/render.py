"""Rendered images (PS3.18 §8.3.5 and WADO-URI): a frame as JPEG or PNG, windowed as the header says.

Grey-scale frames go through the Modality LUT (rescale slope/intercept) and the
VOI window — the one asked for, else the header's first WindowCenter/Width, else
the frame's own range — with PS3.3 C.11.2.1.2's linear function, onto 8 bits;
MONOCHROME1 is inverted so that bright means dense, as viewers show it. Colour
frames are served as decoded. Decoding needs the optional ``render`` extra
(Pillow and numpy); compressed frames need a decoder pydicom can use.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pydicom

from ria.bounds import parse_int
from ria.dicom.streams import PlainStream
from ria.errors import ConfigurationError, InvalidParameterError, NotAcceptableError, NotFoundError

if TYPE_CHECKING:
    from ria.archive import Archive
    from ria.dicomweb.wado import StoredInstance

__all__ = ["RENDERED_TYPES", "RenderOptions", "parse_window", "render_frame", "window_to_8bit"]

RENDERED_TYPES = ("image/jpeg", "image/png")
THUMBNAIL_SIZE = 128
MAX_VIEWPORT = 65_535  # a picture's side in pixels; JPEG cannot be larger


@dataclass(frozen=True)
class RenderOptions:
    """What the request asks of the picture."""

    media_type: str = "image/jpeg"
    window: tuple[float, float] | None = None
    viewport: tuple[int, int] | None = None
    quality: int = 90


def parse_window(text: str | None) -> tuple[float, float] | None:
    """``center,width[,linear]`` (PS3.18's ``window`` parameter) as (center, width)."""
    if not text:
        return None
    parts = [part.strip() for part in text.split(",")]
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].lower() != "linear"):
        raise InvalidParameterError("window", "window is center,width[,linear] (only linear is supported)")
    try:
        center, width = float(parts[0]), float(parts[1])
    except ValueError:
        raise InvalidParameterError(
            "window", f"window {text[:40]!r}: center and width must be numbers"
        ) from None
    if not (math.isfinite(center) and math.isfinite(width)):  # nan/inf would window every pixel to nonsense
        raise InvalidParameterError("window", f"window {text[:40]!r}: center and width must be finite")
    if width < 1:
        raise InvalidParameterError("window", "window width must be at least 1")
    return center, width


def parse_viewport(text: str | None) -> tuple[int, int] | None:
    """``width,height`` of the largest picture wanted (the aspect ratio is kept)."""
    if not text:
        return None
    parts = text.split(",")
    if len(parts) != 2:
        raise InvalidParameterError("viewport", "viewport is width,height in pixels, e.g. 256,256")
    width, height = (parse_int("viewport", part, minimum=1, maximum=MAX_VIEWPORT) for part in parts)
    return width, height


def window_to_8bit(values: Any, center: float, width: float) -> Any:
    """PS3.3 C.11.2.1.2.1 linear VOI onto 0..255 (``values`` a numpy array of modality values)."""
    import numpy as np

    low = center - 0.5 - (width - 1) / 2
    high = center - 0.5 + (width - 1) / 2
    scaled = ((values - (center - 0.5)) / (width - 1) + 0.5) * 255.0
    out = np.where(values <= low, 0.0, np.where(values > high, 255.0, scaled))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _modules() -> tuple[Any, Any]:
    try:
        import numpy
        from PIL import Image
    except ImportError:
        raise ConfigurationError("rendered images need the render extra: pip install 'ria[render]'") from None
    return numpy, Image


def _frame_pixels(ds: pydicom.Dataset, frame: int) -> Any:
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frame > frames:
        raise NotFoundError(f"frame {frame} does not exist: the instance has {frames}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels = ds.pixel_array
    except Exception as exc:  # no decoder for this transfer syntax, or broken pixel data
        raise NotAcceptableError(
            f"this instance's pixel data cannot be decoded for rendering: {exc}"
        ) from None
    return pixels[frame - 1] if frames > 1 else pixels


def render_frame(archive: Archive, stored: StoredInstance, frame: int, options: RenderOptions) -> bytes:
    """One frame of ``stored`` as ``options.media_type`` bytes."""
    numpy, image_module = _modules()
    if options.media_type not in RENDERED_TYPES:
        raise NotAcceptableError(
            f"rendered images are {' or '.join(RENDERED_TYPES)}, not {options.media_type}"
        )
    with archive.store.open(stored.blob_key) as stream, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(PlainStream(stream))
    if "PixelData" not in ds:
        raise NotFoundError("this instance has no pixel data to render")
    pixels = _frame_pixels(ds, frame)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if int(ds.get("SamplesPerPixel", 1)) == 1:
        values = pixels.astype(numpy.float64) * float(ds.get("RescaleSlope", 1) or 1) + float(
            ds.get("RescaleIntercept", 0) or 0
        )
        center_width = options.window or _header_window(ds) or _range_window(values)
        picture = window_to_8bit(values, *center_width)
        if photometric == "MONOCHROME1":
            picture = 255 - picture
        image = image_module.fromarray(picture, mode="L")
    else:
        if pixels.dtype != numpy.uint8:
            raise NotAcceptableError("only 8-bit colour frames can be rendered")
        image = image_module.fromarray(pixels, mode="RGB")
    if options.viewport is not None:
        image.thumbnail(options.viewport)
    out = io.BytesIO()
    if options.media_type == "image/png":
        image.save(out, format="PNG")
    else:
        image.save(out, format="JPEG", quality=options.quality)
    return out.getvalue()


def _first(value: object) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = next(iter(value))  # type: ignore[call-overload]
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _header_window(ds: pydicom.Dataset) -> tuple[float, float] | None:
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is None or width is None or width < 1:
        return None
    return center, width


def _range_window(values: Any) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    width = max(high - low + 1, 1.0)
    return low + (width - 1) / 2 + 0.5, width
