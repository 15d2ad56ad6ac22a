"""Re-encode a stored instance in a transfer syntax a network peer accepted.

Ria stores what it was sent, in whatever transfer syntax it came. A peer that
retrieves it (C-GET, C-MOVE) may accept only some syntaxes; this module says which
syntaxes Ria can produce from any stored instance (:func:`can_produce`), orders a
peer's proposal when negotiating (:func:`peer_order`), ranks what a peer accepted for one
instance (:func:`send_syntaxes`), and re-encodes (:func:`transcode`) with pydicom's
pixel handlers (the ``codecs`` extra):

* the stored syntax itself: the data set as stored, untouched;
* an uncompressed syntax: compressed pixel data is decoded (lossless codecs give the
  stored pixels exactly; a lossy one gives its decoded pixels, still marked lossy by
  the data set's own Lossy Image Compression), and a change of byte order swaps the
  words of every OW/OL/OF/OD/OV value, Pixel Data by its Bits Allocated;
* a lossless compressed syntax pydicom can encode (RLE Lossless always, JPEG 2000
  lossless with openjpeg, JPEG-LS lossless with pyjpegls): decoded, then encoded.

Ria never encodes lossily: that would change the pixels a researcher downloads.
Every failure is a :class:`TranscodeError` whose message says why, for the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache

from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

__all__ = ["UNCOMPRESSED", "TranscodeError", "can_produce", "peer_order", "send_syntaxes", "transcode"]

log = logging.getLogger(__name__)

UNCOMPRESSED = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    ExplicitVRBigEndian,
    DeflatedExplicitVRLittleEndian,
)
# Compressed syntaxes pydicom can encode without loss (when their plugin is installed).
_LOSSLESS_ENCODABLE = (RLELossless, JPEG2000Lossless, JPEGLSLossless)
# Bytes per word of the binary VRs whose values a change of byte order must swap.
_WORD_SIZES = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}
_INSTALL_CODECS = "pip install 'ria[codecs]'"


class TranscodeError(ValueError):
    """The instance cannot be sent in the syntax asked for; the message says why (no data values)."""


@cache
def _can_encode(syntax: str) -> bool:
    from pydicom.pixels.encoders.base import get_encoder

    try:
        return bool(get_encoder(syntax).is_available)
    except (NotImplementedError, ValueError):
        return False


def can_produce(syntax: str) -> bool:
    """Whether Ria can send any stored instance in ``syntax`` (uncompressed, or lossless and encodable)."""
    uid = UID(syntax)
    return uid in UNCOMPRESSED or (uid in _LOSSLESS_ENCODABLE and _can_encode(uid))


def send_syntaxes(stored: str, accepted: Iterable[str]) -> list[str]:
    """The accepted syntaxes to try for an instance stored as ``stored``, best first: the stored one
    itself (sent untouched), then uncompressed ones (explicit, implicit VR little endian, explicit
    big endian, deflated), then lossless ones Ria can encode."""
    offered = list(dict.fromkeys(UID(syntax) for syntax in accepted))
    exact = [syntax for syntax in offered if syntax == stored]
    # Little endian before the retired big endian, whatever order the contexts came in.
    plain = [syntax for syntax in UNCOMPRESSED if syntax in offered and syntax != stored]
    encoded = [syntax for syntax in offered if syntax not in UNCOMPRESSED and can_produce(syntax)]
    return [*exact, *plain, *(syntax for syntax in encoded if syntax != stored)]


def peer_order(proposed: Iterable[str], supported: Iterable[str]) -> list[str]:
    """Our transfer syntaxes for a storage context, ordered so the peer's preference wins.

    An acceptor answers each proposed context with one syntax (pynetdicom: the first of
    ours that the peer proposed). Where Ria sends (C-GET), the peer lists what it wants
    first: follow its order among syntaxes Ria can produce from any stored instance, then
    its other syntaxes (accepted only when it offers nothing Ria can produce: instances
    stored in that very syntax still go, others fail naming why).
    """
    ours = list(dict.fromkeys(UID(syntax) for syntax in supported))
    theirs = [UID(syntax) for syntax in proposed if UID(syntax) in ours]
    first = [syntax for syntax in theirs if can_produce(syntax)]
    return list(dict.fromkeys([*first, *theirs, *ours]))


def transcode(dataset: Dataset, target: str) -> Dataset:
    """``dataset`` (read from a Part 10 file) re-encoded in ``target``, in place; raises TranscodeError."""
    stored = UID(str(dataset.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian)))
    wanted = UID(target)
    if stored == wanted:
        return dataset
    if wanted not in UNCOMPRESSED and not can_produce(wanted):
        raise TranscodeError(
            f"Ria does not encode {wanted.name} (it encodes only lossless syntaxes it has codecs for)"
        )
    has_pixels = "PixelData" in dataset
    if stored.is_compressed and has_pixels:
        _decode(dataset, stored)
        stored = ExplicitVRLittleEndian
    if wanted.is_little_endian != stored.is_little_endian:
        _swap_words(dataset)
    if wanted in UNCOMPRESSED or not has_pixels:
        _set_syntax(dataset, wanted)
        return dataset
    _set_syntax(dataset, ExplicitVRLittleEndian)
    try:
        dataset.compress(wanted, generate_instance_uid=False)
    except Exception as exc:  # the encoder's own reason: unsupported bit depth, photometric, ...
        raise TranscodeError(f"cannot encode as {wanted.name}: {_first_line(exc)}") from exc
    _set_syntax(dataset, wanted)
    return dataset


def _decode(dataset: Dataset, stored: UID) -> None:
    try:
        dataset.decompress(generate_instance_uid=False)
    except Exception as exc:  # a missing plugin, or data its decoder refuses
        reason = _first_line(exc)
        hint = f" ({_INSTALL_CODECS})" if "missing" in reason.lower() or "plugin" in reason.lower() else ""
        raise TranscodeError(f"cannot decode {stored.name}: {reason}{hint}") from exc


def _set_syntax(dataset: Dataset, syntax: UID) -> None:
    dataset.file_meta.TransferSyntaxUID = syntax
    # pynetdicom encodes by the data set's original encoding: it must agree with the new syntax.
    dataset.set_original_encoding(
        syntax.is_implicit_VR, syntax.is_little_endian, dataset.original_character_set
    )


def _swap_words(dataset: Dataset) -> None:
    """Swap the byte order of every binary value whose words are wider than a byte (PS3.5 7.3)."""
    bits = int(dataset.get("BitsAllocated", 0) or 0)
    for element in dataset.iterall():
        size = _WORD_SIZES.get(element.VR)
        if element.tag == 0x7FE00010:  # native Pixel Data: words of Bits Allocated (OW or OB)
            size = bits // 8 if bits in (16, 32, 64) else size
        if size and isinstance(element.value, bytes | bytearray) and len(element.value) % size == 0:
            element.value = _swapped(bytes(element.value), size)


def _swapped(data: bytes, size: int) -> bytes:
    import numpy as np

    return np.frombuffer(data, dtype=f"<u{size}").byteswap().tobytes()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
