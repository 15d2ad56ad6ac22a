"""``ria dicom-listen`` — serve the archive as a DICOM node (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET)."""

from __future__ import annotations

import logging
import signal
from typing import Annotated

import typer
from rich.console import Console

from ria.archive import Archive
from ria.cli.options import DatabaseUrl, DataDir, Host, build_settings
from ria.cli.ports import require_free_port

__all__ = ["dicom_listen"]

out = Console(soft_wrap=True)


def dicom_listen(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")],
    ae_title: Annotated[str, typer.Option("--ae-title", help="This node's AE title.")] = "RIA",
    host: Host = "127.0.0.1",
    collection: Annotated[
        str | None,
        typer.Option(
            "--collection",
            "-c",
            help="Collection C-STORE files instances in (unless the called AE title has its own); "
            "without it, storage is refused to AE titles not given with --ae-collection.",
            show_default=False,
        ),
    ] = None,
    ae_collection: Annotated[
        list[str] | None,
        typer.Option(
            "--ae-collection",
            help="AETITLE=COLLECTION: instances sent to this called AE title go to this collection "
            "(repeatable).",
            show_default=False,
        ),
    ] = None,
    known_ae: Annotated[
        list[str] | None,
        typer.Option(
            "--known-ae",
            help="NAME=HOST:PORT: a C-MOVE destination (repeatable); moves to other AE titles fail (0xA801).",
            show_default=False,
        ),
    ] = None,
    store_batch: Annotated[
        int,
        typer.Option(
            "--store-batch",
            min=1,
            help="C-STORE instances of one association ingested per catalogue transaction (each is "
            "kept durably before its Success status; see docs/conformance.md, DIMSE).",
        ),
    ] = 200,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the archive as a DICOM node until Ctrl-C (see docs/conformance.md, DIMSE)."""
    from ria.dimse import DicomNode, NodeConfig
    from ria.dimse.config import parse_ae_collections, parse_known_aes

    config = NodeConfig(
        ae_title=ae_title,
        port=port,
        host=host,
        collection=collection,
        ae_collections=parse_ae_collections(ae_collection or []),
        known_aes=parse_known_aes(known_ae or []),
        store_batch=store_batch,
    )
    settings = build_settings(data_dir, database_url)
    require_free_port(host, port, "DICOM", "--port")
    # Association summaries (AE titles, addresses, counts: never data values) are the node's output.
    logging.getLogger("ria.dimse").setLevel(logging.INFO)
    with Archive(settings) as archive:
        node = DicomNode(archive, config)
        node.start()
        signal.signal(signal.SIGTERM, lambda *_: node.stop())
        shown = f"[{host}]" if ":" in host else host
        out.print(
            f"Ria DICOM node {config.ae_title} listening on {shown}:{node.port} "
            f"for {archive.settings.data_dir.resolve()} (Ctrl-C stops)",
            highlight=False,
            markup=False,
        )
        try:
            node.wait_until_stopped()
        except KeyboardInterrupt:
            pass
        finally:
            node.stop()
    out.print("stopped", highlight=False)
