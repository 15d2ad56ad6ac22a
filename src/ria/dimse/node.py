"""``DicomNode``: the archive as a DICOM network node (pynetdicom), C-ECHO/STORE/FIND/MOVE/GET SCP.

One node serves one :class:`~ria.archive.Archive`. Associations run in pynetdicom's
threads, each handled here: storage goes through :mod:`ria.dimse.store`, queries and
retrieves through :func:`ria.dimse.access.visible_scope`. Each association is logged
once when it ends (AE titles, peer address, counts, duration) — never a value from
the data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.pdu_primitives import A_RELEASE
from sqlalchemy.exc import SQLAlchemyError

from ria.catalog.dimse_queries import iter_matches
from ria.dimse.access import Peer, peer_principal, visible_scope
from ria.dimse.config import NodeConfig
from ria.dimse.identifiers import (
    PATIENT_ROOT_MODELS,
    STUDY_ROOT_MODELS,
    VERIFICATION,
    InvalidIdentifier,
    find_query,
    find_response,
)
from ria.dimse.retrieve import (
    SubAssociation,
    accepted_on,
    datasets,
    move_contexts,
    retrieve_plan,
    storage_order,
)
from ria.dimse.sockets import set_nodelay
from ria.dimse.store import SUCCESS, AssociationStore
from ria.errors import ConfigurationError
from ria.ingestion.inbox import Inbox

if TYPE_CHECKING:
    from pynetdicom.association import Association
    from pynetdicom.events import Event
    from pynetdicom.transport import ThreadedAssociationServer

    from ria.archive import Archive

__all__ = ["DicomNode"]

log = logging.getLogger(__name__)

_IDENTIFIER_DOES_NOT_MATCH = 0xA900
_FIND_PENDING = 0xFF00
_FIND_PENDING_UNSUPPORTED_KEYS = 0xFF01
_CANCELLED = 0xFE00
_FIND_UNABLE = 0xC001
_RETRIEVE_UNABLE = 0xC002
_MAX_PDU = 1 << 20


@dataclass
class _Activity:
    """What one association did: counted in its own thread, logged when it ends."""

    peer: Peer
    started: float = field(default_factory=time.monotonic)
    echoes: int = 0
    stored: int = 0
    store_failed: int = 0
    finds: int = 0
    found: int = 0
    retrieves: int = 0
    sent: int = 0
    store: AssociationStore | None = None

    def count_sent(self) -> None:
        self.sent += 1

    def summary(self) -> str:
        return (
            f"association {self.peer.calling_ae_title} -> {self.peer.called_ae_title} "
            f"from {self.peer.address}:{self.peer.port}: {self.echoes} echo, "
            f"{self.stored} stored, {self.store_failed} store failed, {self.finds} find "
            f"({self.found} matches), {self.retrieves} retrieve ({self.sent} sent), "
            f"{time.monotonic() - self.started:.2f} s"
        )


class DicomNode:
    """The archive's DICOM node.

    Example::

        with Archive(settings) as archive, DicomNode(archive, NodeConfig("RIA", 11112)) as node:
            node.start()          # non-blocking; node.port is the bound port
            ...
        # or: DicomNode(archive, config).serve_forever()  (blocking, until stop() or Ctrl-C)

    pynetdicom logs request identifiers — patient names and IDs — at INFO, so the node
    raises the ``pynetdicom`` logger to WARNING unless ``protocol_log`` is set (for
    troubleshooting on test data only).
    """

    def __init__(self, archive: Archive, config: NodeConfig, *, protocol_log: bool = False) -> None:
        self.archive = archive
        self.config = config
        self._server: ThreadedAssociationServer | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._activity: dict[int, _Activity] = {}
        self.ae = self._build_ae()
        if not protocol_log:
            # pynetdicom logs request identifiers (patient names and IDs) at INFO: keep them out.
            pynetdicom_log = logging.getLogger("pynetdicom")
            pynetdicom_log.setLevel(max(pynetdicom_log.getEffectiveLevel(), logging.WARNING))

    def _build_ae(self) -> AE:
        ae = AE(ae_title=self.config.ae_title)
        ae.maximum_associations = self.config.max_associations
        # The largest PDU we take: a sender splits each instance into PDUs of at most this size, and
        # every PDU is a turn of pynetdicom's reactor (16 KiB by default: several per CT slice).
        ae.maximum_pdu_size = _MAX_PDU
        ae.require_called_aet = False  # any called AE title: it picks the collection C-STORE files into
        ae.add_supported_context(VERIFICATION, ALL_TRANSFER_SYNTAXES)
        # Where the peer is the storage SCP (C-GET), pynetdicom picks the first of *our* transfer
        # syntaxes the peer proposed; _on_requested reorders them per association by the peer's order.
        syntaxes = [
            ExplicitVRLittleEndian,
            *(ts for ts in ALL_TRANSFER_SYNTAXES if ts != ExplicitVRLittleEndian),
        ]
        for context in AllStoragePresentationContexts:
            # scp_role: a C-GET requestor may act as the storage SCP of the sub-operations.
            if context.abstract_syntax is not None:
                ae.add_supported_context(context.abstract_syntax, syntaxes, scu_role=False, scp_role=True)
        for model in (*PATIENT_ROOT_MODELS, *STUDY_ROOT_MODELS):
            ae.add_supported_context(model, ALL_TRANSFER_SYNTAXES)
        return ae

    # -- lifecycle -------------------------------------------------------------

    def __enter__(self) -> DicomNode:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def handlers(self) -> list[Any]:
        return [
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_ACSE_RECV, self._on_acse),
            (evt.EVT_C_ECHO, self._on_echo),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_C_FIND, self._on_find),
            (evt.EVT_C_MOVE, self._on_move),
            (evt.EVT_C_GET, self._on_get),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_RELEASED, self._on_ended),
            (evt.EVT_ABORTED, self._on_ended),
            (evt.EVT_CONN_CLOSE, self._on_ended),
        ]

    def start(self) -> None:
        """Listen in background threads; returns once the port is bound."""
        if self._server is not None:
            raise ConfigurationError("the DICOM node is already listening")
        recovered = Inbox.recover(self.archive)
        if recovered:
            log.warning("ingested %d instances acknowledged before the node last stopped", recovered)
        try:
            self._server = self.ae.start_server(
                (self.config.host, self.config.port), block=False, evt_handlers=self.handlers
            )
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}"
            ) from exc
        self._stopped.clear()
        log.info("DICOM node %s listening on %s:%d", self.config.ae_title, self.config.host, self.port)

    def serve_forever(self) -> None:
        """Listen until :meth:`stop` is called (from another thread or a signal handler) or Ctrl-C."""
        self.start()
        self.wait_until_stopped()

    def wait_until_stopped(self) -> None:
        """Block until the node, started with :meth:`start`, is stopped (stops it on Ctrl-C)."""
        try:
            while not self._stopped.wait(0.5):
                pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop listening and end running associations (idempotent)."""
        server, self._server = self._server, None
        self._stopped.set()
        if server is not None:
            server.shutdown()
            self.ae.shutdown()
            log.info("DICOM node %s stopped", self.config.ae_title)

    @property
    def port(self) -> int:
        """The bound TCP port (the system's choice when configured with port 0)."""
        if self._server is None:
            return self.config.port
        return int(self._server.server_address[1])

    # -- association bookkeeping -------------------------------------------------

    @staticmethod
    def _peer(assoc: Association) -> Peer:
        primitive = assoc.requestor.primitive
        called = str(getattr(primitive, "called_ae_title", "") or "").strip()
        return Peer(
            calling_ae_title=str(assoc.requestor.ae_title).strip(),
            called_ae_title=called or str(assoc.acceptor.ae_title).strip(),
            address=str(assoc.requestor.address),
            port=int(assoc.requestor.port),
        )

    @staticmethod
    def _on_requested(event: Event) -> None:
        set_nodelay(event)
        storage_order(event.assoc)

    def _on_acse(self, event: Event) -> None:
        """A release request: ingest what this association sent before the release is answered."""
        primitive = event.primitive  # type: ignore[attr-defined]
        if isinstance(primitive, A_RELEASE) and primitive.result is None:
            with self._lock:
                activity = self._activity.get(id(event.assoc))
            if activity is not None and activity.store is not None:
                activity.store.flush()

    def _on_accepted(self, event: Event) -> None:
        with self._lock:
            self._activity[id(event.assoc)] = _Activity(self._peer(event.assoc))

    def _on_ended(self, event: Event) -> None:
        with self._lock:
            activity = self._activity.pop(id(event.assoc), None)
        if activity is not None:
            if activity.store is not None:
                activity.store.close()
            ended = "aborted" if event.event is evt.EVT_ABORTED else "ended"
            log.info("%s %s", activity.summary(), ended)

    def _activity_of(self, event: Event) -> _Activity:
        with self._lock:
            activity = self._activity.get(id(event.assoc))
            if activity is None:  # not seen accepted (cannot happen): count anyway
                activity = self._activity[id(event.assoc)] = _Activity(self._peer(event.assoc))
            return activity

    # -- services --------------------------------------------------------------------

    def _on_echo(self, event: Event) -> int:
        self._activity_of(event).echoes += 1
        return SUCCESS

    def _on_store(self, event: Event) -> Dataset | int:
        activity = self._activity_of(event)
        if activity.store is None:
            collection = self.config.collection_for(activity.peer.called_ae_title)
            activity.store = AssociationStore(self.archive, collection, batch_size=self.config.store_batch)
        answer = activity.store.store(event)
        if answer.status == SUCCESS:
            activity.stored += 1
        else:
            if activity.store_failed == 0:
                log.warning(
                    "C-STORE from %s to %s refused with status 0x%04X (%s)",
                    activity.peer.calling_ae_title,
                    activity.peer.called_ae_title,
                    answer.status,
                    answer.outcome.value if answer.outcome else "refused",
                )
            activity.store_failed += 1
        return answer.as_status()

    def _on_find(self, event: Event) -> Iterator[tuple[int, Dataset | None]]:
        activity = self._activity_of(event)
        activity.finds += 1
        model = str(event.request.AffectedSOPClassUID)
        request = event.identifier
        try:
            parsed = find_query(request, model)
        except InvalidIdentifier as exc:
            log.warning("C-FIND from %s refused (0xA900): %s", activity.peer.calling_ae_title, exc)
            yield _IDENTIFIER_DOES_NOT_MATCH, None
            return
        status = _FIND_PENDING_UNSUPPORTED_KEYS if parsed.unsupported else _FIND_PENDING
        if parsed.unsupported:
            log.info("C-FIND: no matching on %s (answered as return keys)", ", ".join(parsed.unsupported))
        scope = visible_scope(self.archive, activity.peer)
        principal = peer_principal(self.archive, activity.peer)
        try:
            for match in iter_matches(self.archive.engine, parsed.query, scope, principal):
                if event.is_cancelled:
                    yield _CANCELLED, None
                    return
                activity.found += 1
                yield status, find_response(request, match, self.config.ae_title)
        except SQLAlchemyError as exc:
            log.error("C-FIND failed: catalogue error (%s)", type(exc).__name__)
            yield _FIND_UNABLE, None
            return
        yield SUCCESS, None

    def _plan(self, event: Event, activity: _Activity) -> tuple[list[Any] | None, int]:
        """The instances a retrieve asks for, or ``None`` and the failure status."""
        activity.retrieves += 1
        model = str(event.request.AffectedSOPClassUID)
        scope = visible_scope(self.archive, activity.peer)
        principal = peer_principal(self.archive, activity.peer)
        try:
            return retrieve_plan(self.archive, scope, principal, event.identifier, model), SUCCESS
        except InvalidIdentifier as exc:
            log.warning("retrieve from %s refused (0xA900): %s", activity.peer.calling_ae_title, exc)
            return None, _IDENTIFIER_DOES_NOT_MATCH
        except SQLAlchemyError as exc:
            log.error("retrieve failed: catalogue error (%s)", type(exc).__name__)
            return None, _RETRIEVE_UNABLE

    def _on_move(self, event: Event) -> Iterator[Any]:
        activity = self._activity_of(event)
        destination = str(event.move_destination or "").strip()
        address = self.config.known_aes.get(destination)
        if address is None:
            log.warning(
                "C-MOVE from %s to unknown destination %r refused (0xA801)",
                activity.peer.calling_ae_title,
                destination,
            )
            yield None, None
            return
        instances, status = self._plan(event, activity)
        if instances is None:
            # pynetdicom takes a status only after the destination and a sub-operation count.
            yield address[0], address[1], {"contexts": move_contexts([])}
            yield 1
            yield status, None
            return
        sub = SubAssociation()
        yield (
            address[0],
            address[1],
            {"contexts": move_contexts(instances), "evt_handlers": sub.handlers},
        )
        yield len(instances)
        cancelled = lambda: bool(event.is_cancelled)  # noqa: E731
        yield from datasets(self.archive, instances, cancelled, activity.count_sent, sub.accepted)

    def _on_get(self, event: Event) -> Iterator[Any]:
        activity = self._activity_of(event)
        instances, status = self._plan(event, activity)
        if instances is None:
            yield 1
            yield status, None
            return
        yield len(instances)
        cancelled = lambda: bool(event.is_cancelled)  # noqa: E731
        yield from datasets(self.archive, instances, cancelled, activity.count_sent, accepted_on(event.assoc))
