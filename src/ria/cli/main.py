"""``ria`` — command-line entry point. Exit codes: 0 ok, 1 failed, 2 bad usage."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ria.access import OPERATOR
from ria.archive import Archive
from ria.cli.cite import cite_command
from ria.cli.cohort import cohort_command, linkage_command, survival_command
from ria.cli.collections import (
    accrual_command,
    collections_audit,
    collections_set,
    collections_show,
    seed_tcga_command,
)
from ria.cli.dicom import dicom_listen
from ria.cli.genomics import genomics_app
from ria.cli.idc import import_idc_command
from ria.cli.ingest_progress import ingest_with_progress
from ria.cli.manifest import manifest_app
from ria.cli.options import (
    CorsOrigins,
    DatabaseUrl,
    DataDir,
    Host,
    LocalCurators,
    Port,
    PublicUrl,
    RemoteRoot,
    StowCollection,
    TrustedProxies,
    build_settings,
)
from ria.cli.ports import require_free_port
from ria.cli.remote import fetch_remote_command
from ria.cli.review import review_app
from ria.cli.users import users_app
from ria.errors import InvalidParameterError, RiaError

app = typer.Typer(
    name="ria",
    help="Ria, the Radiogenomic Imaging Archive.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
collections_app = typer.Typer(help="Inspect and manage collections.", no_args_is_help=True)
app.add_typer(collections_app, name="collections")
app.add_typer(manifest_app, name="manifest")
app.add_typer(review_app, name="review")
app.add_typer(genomics_app, name="genomics")
app.add_typer(users_app, name="users")
app.command("dicom-listen")(dicom_listen)
app.command("import-idc")(import_idc_command)
app.command("fetch-remote")(fetch_remote_command)
app.command("cohort")(cohort_command)
app.command("survival")(survival_command)
app.command("linkage")(linkage_command)
app.command("accrual")(accrual_command)
app.command("cite")(cite_command)
collections_app.command("set")(collections_set)
collections_app.command("show")(collections_show)
collections_app.command("audit")(collections_audit)
collections_app.command("seed-tcga")(seed_tcga_command)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@app.callback()
def _configure(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def init(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create the data folder and bring the catalogue schema up to date."""
    settings = build_settings(data_dir, database_url)
    with Archive(settings):
        out.print(f"archive ready in {settings.data_dir} (catalogue: {_safe_url(settings.catalog_url)})")


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files, folders (recursive) and .zip archives.", show_default=False)
    ],
    collection: Annotated[
        str, typer.Option("--collection", "-c", help="Collection to file the instances in.")
    ],
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit 1 if any file is rejected or conflicts, or on any warning "
            "(e.g. PatientIDs that are not TCGA barcodes in a TCGA collection).",
        ),
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Parsing processes (default: cores).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    deidentify: Annotated[
        str | None,
        typer.Option(
            "--deidentify",
            help="De-identify on the way in with this profile: basic, tcia, or basic plus options "
            "(e.g. basic,rlmd,rpc; see docs/deidentification.md). Needs --id-map.",
            show_default=False,
        ),
    ] = None,
    id_map: Annotated[
        Path | None,
        typer.Option(
            "--id-map",
            help="CSV with header source_patient_id,target_patient_id; "
            "files of unmapped patients are refused.",
            show_default=False,
        ),
    ] = None,
    pixel_rules: Annotated[
        Path | None,
        typer.Option(
            "--pixel-rules",
            help="JSON rules blanking known burned-in text regions per device model "
            "(docs/deidentification.md); default: the collection's stored rules.",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Ingest DICOM files into a collection (idempotent: re-running reports duplicates)."""
    if deidentify is not None and id_map is None:
        raise InvalidParameterError("--id-map", "--deidentify and --id-map go together")
    if pixel_rules is not None and id_map is None:
        raise InvalidParameterError(
            "--pixel-rules", "--pixel-rules applies only with de-identification (--id-map)"
        )
    settings = build_settings(data_dir, database_url, workers=workers)
    with Archive(settings) as archive:
        deidentifier = None
        # A collection may require a profile (ria collections set NAME --deidentify …): then
        # --id-map alone is enough, and the archive refuses an ingest without one.
        spec = deidentify or archive.required_profile(collection)
        if id_map is not None and spec is None:
            raise InvalidParameterError("--deidentify", "--deidentify and --id-map go together")
        if spec is not None and id_map is not None:
            from ria.deid.pixels import PixelRules
            from ria.deid.profiles import Profile

            rules = PixelRules.read(pixel_rules) if pixel_rules else archive.stored_pixel_rules(collection)
            deidentifier = archive.deidentifier(Profile.parse(spec), id_map, rules)
        report = ingest_with_progress(
            archive, paths, collection, show=err.is_terminal and not as_json, deidentify=deidentifier
        )
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        out.print(report.summary(), highlight=False)
        for problem in report.problems[:20]:
            out.print(
                f"  {problem.outcome.value}: {problem.source}: {problem.reason}",
                highlight=False,
                markup=False,
            )
        if len(report.problems) > 20 or report.conflict + report.rejected > len(report.problems):
            out.print(f"  … every file's outcome is in {report.path}", highlight=False)
    if strict and (not report.ok or report.warnings):
        raise typer.Exit(1)


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8080,
    dicom_port: Annotated[
        int | None,
        typer.Option(
            "--dicom-port",
            min=1,
            max=65535,
            help="Also run the DICOM node (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET) on this port; "
            "ria dicom-listen has every DIMSE option.",
            show_default=False,
        ),
    ] = None,
    ae_title: Annotated[str, typer.Option("--ae-title", help="The DICOM node's AE title.")] = "RIA",
    dicom_collection: Annotated[
        str | None,
        typer.Option(
            "--dicom-collection",
            help="Collection C-STORE files instances in (without it, C-STORE is refused).",
            show_default=False,
        ),
    ] = None,
    cors_origin: CorsOrigins = None,
    stow_collection: StowCollection = None,
    public_url: PublicUrl = None,
    trusted_proxy: TrustedProxies = None,
    local_curators: LocalCurators = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    remote_root: RemoteRoot = None,
) -> None:
    """Serve the HTTP API (TCIA-compatible routes, DICOMweb, Ria's API, OpenAPI docs at /api/v1/docs),
    and with --dicom-port the DICOM node too."""
    settings = build_settings(
        data_dir,
        database_url,
        remote_root=remote_root,
        cors_origins=tuple(cors_origin) if cors_origin else None,
        stow_collection=stow_collection,
        public_url=public_url,
        trusted_proxies=tuple(trusted_proxy) if trusted_proxy else None,
        local_curators=local_curators,
    )
    if dicom_port == port:
        raise InvalidParameterError("--dicom-port", f"--dicom-port {dicom_port} is the HTTP port too")
    require_free_port(host, port, "HTTP", "--port")
    if dicom_port is not None:
        require_free_port(host, dicom_port, "DICOM", "--dicom-port")
    with Archive(settings) as archive:
        if dicom_port is None:
            _serve(archive, host, port)
            return
        from ria.dimse import DicomNode, NodeConfig

        config = NodeConfig(ae_title=ae_title, port=dicom_port, host=host, collection=dicom_collection)
        logging.getLogger("ria.dimse").setLevel(logging.INFO)
        node = DicomNode(archive, config)
        node.start()
        try:
            out.print(f"  DICOM node {config.ae_title} on port {node.port}", highlight=False, markup=False)
            _serve(archive, host, port)
        finally:
            node.stop()


@app.command()
def demo(
    host: Host = "127.0.0.1",
    port: Port = 8080,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build the demo archive, then exit.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Build an archive from real sample CT/MR images (TCGA-LUAD, TCGA-BRCA), the real TCGA imaging
    catalogue (IDC index) and real lung mutation data, and serve it."""
    from ria.sample.corpus import CC_BY_3, DEMO_DESCRIPTIONS, write_demo_corpus

    # The demo is one person's laptop: its operator may STOW from a browser or client on this machine.
    settings = build_settings(data_dir, database_url, local_curators=True)
    if not no_serve:  # before the work a busy port would waste
        require_free_port(host, port, "HTTP", "--port")
    with Archive(settings) as archive, tempfile.TemporaryDirectory(prefix="ria-demo-") as scratch:
        corpus = write_demo_corpus(Path(scratch))
        if not corpus.folders:
            raise RiaError("no sample images found: pydicom's test files are missing from this installation")
        for collection, folder in sorted(corpus.folders.items()):
            report = archive.ingest([folder], collection, workers=1)
            out.print(report.summary(), highlight=False)
            if collection in DEMO_DESCRIPTIONS:
                description, doi = DEMO_DESCRIPTIONS[collection]
                archive.writer().describe_collection(
                    collection,
                    description=description,
                    doi=doi,
                    license_name=CC_BY_3[0],
                    license_uri=CC_BY_3[1],
                )
        _load_demo_radiogenomics(archive)
        out.print(f"demo archive in {settings.data_dir.resolve()}")
        if no_serve:
            return
        _serve(archive, host, port)


def _load_demo_radiogenomics(archive: Archive) -> None:
    """The real TCGA imaging catalogue and the packaged TCGA tables (``ria[demo]``).

    The catalogue import is the demo's longest step (tens of seconds), so a person watching
    sees its progress bar (the one ``ria import-idc`` shows), not a silent terminal.
    """
    from importlib.resources import as_file, files

    from ria.genomics import import_file
    from ria.sample import DEMO_TABLES

    try:
        from ria.cli.idc import run_with_progress

        report = run_with_progress(archive, None, None, show=err.is_terminal, err=err)
    except RiaError as exc:
        err.print(
            f"note: the real TCGA catalogue was not loaded ({exc.message})", highlight=False, markup=False
        )
    else:
        out.print(report.summary(), highlight=False)
    for name in DEMO_TABLES:
        with as_file(files("ria.sample") / "data" / name) as path:
            out.print(import_file(archive, path).summary(), highlight=False)
    out.print("try: ria cohort --collection TCGA-LUAD --modality CT --mutated KRAS", highlight=False)


@collections_app.command("list")
def collections_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """List collections with patient, study, series and instance counts."""
    from ria.cli.tables import human_size, print_table

    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        stats = archive.catalog.collection_stats(principal=OPERATOR)
    if as_json:
        print(json.dumps([s.to_json() for s in stats], indent=2))
        return
    rows = [
        (s.name, s.patients, s.studies, s.series, s.instances, human_size(s.bytes), ", ".join(s.modalities))
        for s in stats
    ]
    print_table(("collection", "patients", "studies", "series", "instances", "size", "modalities"), rows)


@app.command()
def check(
    verify_hashes: Annotated[
        bool, typer.Option("--verify-hashes", help="Re-read every blob and check SHA-256.")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check that catalogue and blob store agree; exit 1 if they do not."""
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        report = archive.check(verify_hashes=verify_hashes)
    out.print(
        f"{report.instances} instances; missing blobs: {len(report.missing_blobs)}; "
        f"size/hash mismatches: {len(report.size_mismatches)}; "
        f"series counter mismatches: {len(report.series_count_mismatches)}; "
        f"unreferenced blobs: {report.orphan_blobs}",
        highlight=False,
    )
    if not report.consistent:
        raise typer.Exit(1)


@app.command()
def gc(
    grace_seconds: Annotated[
        float, typer.Option("--grace-seconds", min=0, help="Keep newer unreferenced blobs.")
    ] = 3600.0,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete blobs that no catalogue row references (left by interrupted ingests)."""
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        removed, reclaimed = archive.collect_garbage(grace_seconds=grace_seconds)
    from ria.cli.tables import human_size

    out.print(f"removed {removed} unreferenced objects; reclaimed {human_size(reclaimed)}")


def _serve(archive: Archive, host: str, port: int) -> None:
    import uvicorn

    from ria.api import create_app

    shown = f"[{host}]" if ":" in host else host
    out.print(
        f"Ria is serving {archive.settings.data_dir.resolve()} at http://{shown}:{port}/", highlight=False
    )
    out.print(f"  API docs: http://{shown}:{port}/api/v1/docs", highlight=False)
    out.print(f"  TCIA API: http://{shown}:{port}/nbia-api/services/v1/getCollectionValues", highlight=False)
    # Forwarded headers are Ria's to judge (Settings.trusted_proxies), not uvicorn's: its default
    # would rewrite the client address from any proxy on loopback.
    try:
        uvicorn.run(create_app(archive), host=host, port=port, log_level="warning", proxy_headers=False)
    except SystemExit as exc:  # uvicorn exits 3 when it cannot start (e.g. the port was taken since)
        if exc.code not in (0, None):
            raise RiaError(f"the HTTP server could not start on {shown}:{port} (see above)") from None
        raise


def _safe_url(url: str) -> str:
    """A database URL with any password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Console-script entry point: map RiaError to one line on stderr and its exit code."""
    try:
        app()
    except RiaError as exc:
        err.print(f"error: {exc.message}", highlight=False, markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
