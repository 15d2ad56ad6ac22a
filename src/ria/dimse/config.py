"""What a DICOM node is: its AE title, address, where stored instances go, and whom it may send to."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ria.errors import InvalidParameterError
from ria.ingestion.pipeline import validate_collection_name

__all__ = ["NodeConfig", "parse_ae_collections", "parse_known_aes", "validate_ae_title"]

# PS3.5 6.2: AE titles are up to 16 characters of the default repertoire, no backslash or
# control characters; leading and trailing spaces are not significant.
_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")


def validate_ae_title(title: str, parameter: str = "--ae-title") -> str:
    """``title`` stripped, or :class:`InvalidParameterError` if it is not a valid AE title."""
    stripped = title.strip()
    if not stripped or not _AE_TITLE.fullmatch(stripped):
        raise InvalidParameterError(
            parameter, f"invalid AE title {title!r}: 1-16 printable ASCII characters, no backslash"
        )
    return stripped


def _validate_port(port: int, parameter: str) -> int:
    if not 0 <= port <= 65535:
        raise InvalidParameterError(parameter, f"port {port} is out of range (0-65535)")
    return port


@dataclass(frozen=True)
class NodeConfig:
    """A DICOM node's settings.

    Attributes:
        ae_title: this node's AE title (also the calling AE title of C-MOVE sub-associations).
        port: TCP port to listen on; ``0`` lets the system choose (see ``DicomNode.port``).
        host: address to listen on.
        collection: collection C-STORE files instances in when the called AE title has no
            collection of its own; ``None`` refuses storage to such AE titles.
        ae_collections: called AE title → collection for C-STORE.
        known_aes: AE title → (host, port) of C-MOVE destinations.
        max_associations: associations served at once (others are rejected, "busy").
        store_batch: C-STORE instances of one association ingested per catalogue transaction.
    """

    ae_title: str
    port: int
    host: str = "127.0.0.1"
    collection: str | None = None
    ae_collections: Mapping[str, str] = field(default_factory=dict)
    known_aes: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    max_associations: int = 10
    store_batch: int = 200

    def __post_init__(self) -> None:
        object.__setattr__(self, "ae_title", validate_ae_title(self.ae_title))
        _validate_port(self.port, "--port")
        if self.collection is not None:
            validate_collection_name(self.collection)
        by_title: dict[str, str] = {}
        for title, name in self.ae_collections.items():
            by_title[validate_ae_title(title, "--ae-collection")] = validate_collection_name(name)
        object.__setattr__(self, "ae_collections", MappingProxyType(by_title))
        known: dict[str, tuple[str, int]] = {}
        for title, (host, port) in self.known_aes.items():
            if not host:
                raise InvalidParameterError("--known-ae", f"known AE {title!r} has no host")
            known[validate_ae_title(title, "--known-ae")] = (host, _validate_port(port, "--known-ae"))
        object.__setattr__(self, "known_aes", MappingProxyType(known))
        if self.max_associations < 1:
            raise InvalidParameterError("max_associations", "max_associations must be at least 1")
        if self.store_batch < 1:
            raise InvalidParameterError("store_batch", "store_batch must be at least 1")

    def collection_for(self, called_ae_title: str) -> str | None:
        """The collection C-STORE files instances in for this called AE title (``None``: refuse)."""
        return self.ae_collections.get(called_ae_title.strip(), self.collection)


def _split(option: str, text: str, separator: str) -> tuple[str, str]:
    left, sep, right = text.partition(separator)
    if not sep or not left.strip() or not right.strip():
        raise InvalidParameterError(option, f"{option} {text!r}: expected NAME{separator}VALUE")
    return left.strip(), right.strip()


def parse_ae_collections(values: Iterable[str]) -> dict[str, str]:
    """``AETITLE=COLLECTION`` options as a mapping (AE titles and names validated)."""
    mapping: dict[str, str] = {}
    for value in values:
        title, name = _split("--ae-collection", value, "=")
        title = validate_ae_title(title, "--ae-collection")
        if title in mapping:
            raise InvalidParameterError("--ae-collection", f"AE title {title!r} is given twice")
        mapping[title] = validate_collection_name(name)
    return mapping


def parse_known_aes(values: Iterable[str]) -> dict[str, tuple[str, int]]:
    """``NAME=HOST:PORT`` options as a mapping (``[::1]:104`` for IPv6 hosts)."""
    known: dict[str, tuple[str, int]] = {}
    for value in values:
        title, address = _split("--known-ae", value, "=")
        title = validate_ae_title(title, "--known-ae")
        host, sep, port_text = address.rpartition(":")
        host = host.strip().removeprefix("[").removesuffix("]")
        if not sep or not host or not port_text.strip().isdigit():
            raise InvalidParameterError("--known-ae", f"--known-ae {value!r}: expected NAME=HOST:PORT")
        if title in known:
            raise InvalidParameterError("--known-ae", f"AE title {title!r} is given twice")
        known[title] = (host, _validate_port(int(port_text), "--known-ae"))
    return known
