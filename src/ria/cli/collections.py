"""``ria collections set|show|audit|seed-tcga`` and ``ria accrual``: a collection's rules and terms.

Every change of access, embargo, licence or ISS sites is written with an audit row naming the OS
user who ran the command, the time and the ``--reason`` (required for access and embargo changes),
in the same transaction as the change (:mod:`ria.access.governance`).
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from ria.archive import Archive
from ria.cli.options import DatabaseUrl, DataDir, build_settings
from ria.errors import InvalidParameterError

__all__ = [
    "accrual_command",
    "collections_audit",
    "collections_set",
    "collections_show",
    "seed_tcga_command",
]

out = Console(soft_wrap=True)


def _actor() -> str:
    """Who is changing the archive: the OS user running the command (audited)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def collections_set(
    name: Annotated[str, typer.Argument(help="Collection name (created if it does not exist).")],
    deidentify: Annotated[
        str | None,
        typer.Option(
            "--deidentify",
            help="Profile every ingest into NAME must apply (e.g. tcia); 'none' lifts the rule.",
            show_default=False,
        ),
    ] = None,
    id_map: Annotated[
        str | None,
        typer.Option(
            "--id-map",
            help="CSV (source_patient_id,target_patient_id) kept privately for network uploads "
            "(STOW-RS, C-STORE) into NAME; 'none' removes it.",
            show_default=False,
        ),
    ] = None,
    pixel_rules: Annotated[
        str | None,
        typer.Option(
            "--pixel-rules",
            help="JSON rules blanking known burned-in text regions per device model, applied by every "
            "de-identifying ingest into NAME; 'none' removes them.",
            show_default=False,
        ),
    ] = None,
    access: Annotated[
        str | None,
        typer.Option(
            "--access",
            help="public (everyone), restricted (the ISS group and grantees) or limited (grantees only).",
            show_default=False,
        ),
    ] = None,
    restricted_until_embargo_end: Annotated[
        bool | None,
        typer.Option(
            "--restricted-until-embargo-end/--no-restricted-until-embargo-end",
            help="A restricted collection becomes public by itself when its publication embargo ends.",
            show_default=False,
        ),
    ] = None,
    embargo_threshold: Annotated[
        int | None,
        typer.Option(
            "--embargo-threshold", help="Cases that start the embargo (default 100).", show_default=False
        ),
    ] = None,
    embargo_days: Annotated[
        int | None,
        typer.Option(
            "--embargo-days", help="Length of the embargo window in days (default 365).", show_default=False
        ),
    ] = None,
    embargo_start: Annotated[
        str | None,
        typer.Option(
            "--embargo-start",
            help="Curator's date for the threshold case (YYYY-MM-DD, UTC); 'auto' goes back to the accrual.",
            show_default=False,
        ),
    ] = None,
    description: Annotated[str | None, typer.Option("--description", show_default=False)] = None,
    doi: Annotated[
        str | None, typer.Option("--doi", help="e.g. 10.7937/K9/TCIA.2016.JGNIHEP5", show_default=False)
    ] = None,
    license_name: Annotated[str | None, typer.Option("--license-name", show_default=False)] = None,
    license_uri: Annotated[str | None, typer.Option("--license-uri", show_default=False)] = None,
    cancer_type: Annotated[str | None, typer.Option("--cancer-type", show_default=False)] = None,
    site: Annotated[
        list[str] | None,
        typer.Option(
            "--site", help="Add an ISS member site by code (repeatable), e.g. --site 05.", show_default=False
        ),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", help="Why (required for access and embargo changes; audited).", show_default=False
        ),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a collection's rules and terms: de-identification on the way in, the ID map network uploads use,
    pixel rules, access level, publication embargo, description, DOI, licence, cancer type, ISS sites."""
    from ria.access.governance import CollectionChanges, change_settings, parse_embargo_start
    from ria.ingestion.pipeline import validate_collection_name

    changes = CollectionChanges(
        access=access,
        restricted_until_embargo_end=restricted_until_embargo_end,
        embargo_threshold=embargo_threshold,
        embargo_days=embargo_days,
        embargo_start=None if embargo_start is None else parse_embargo_start(embargo_start),
        description=description,
        doi=doi,
        license_name=license_name,
        license_uri=license_uri,
        cancer_type=cancer_type,
        sites=tuple(code.strip().upper() for code in site or ()),
    )
    if deidentify is None and id_map is None and pixel_rules is None and changes.empty:
        raise InvalidParameterError(
            "--deidentify",
            "nothing to set: give --deidentify PROFILE, --id-map FILE, --pixel-rules FILE (or none), "
            "--access, an --embargo-… option, --description, --doi, --license-name/--license-uri, "
            "--cancer-type or --site",
        )
    validate_collection_name(name)
    changes.validate()
    if changes.overrides and not (reason and reason.strip()):
        raise InvalidParameterError("--reason", "access and embargo changes are audited: give --reason TEXT")
    with Archive(build_settings(data_dir, database_url)) as archive:
        if not changes.empty:
            record = change_settings(archive.engine, name, changes, actor=_actor(), reason=reason)
            out.print(_terms_line(record), highlight=False, markup=False)
        if deidentify is None and id_map is None and pixel_rules is None:
            return
        if deidentify is not None:
            archive.require_deidentification(
                name, None if deidentify.strip().lower() == "none" else deidentify
            )
        mapped = None
        if id_map is not None:
            mapped = archive.store_id_map(name, None if id_map.strip().lower() == "none" else id_map)
        if pixel_rules is not None:
            archive.store_pixel_rules(name, None if pixel_rules.strip().lower() == "none" else pixel_rules)
        required = archive.required_profile(name)
        stored = archive.stored_id_map(name) is not None
        rules = archive.stored_pixel_rules(name)
    out.print(
        f"{name}: de-identification {'required: ' + required if required else 'not required'}; "
        f"ID map for network uploads: {'stored' if stored else 'none'}"
        + (f" ({mapped} patients)" if mapped else "")
        + f"; pixel rules: {len(rules.rules) if rules else 'none'}",
        highlight=False,
    )


def _terms_line(record: object) -> str:
    from ria.access.embargo import embargo_notice, embargo_status, format_moment
    from ria.catalog.governance import Governance

    assert isinstance(record, Governance)
    status = embargo_status(record)
    ends = f" until {format_moment(record.embargo_ends_at)}" if record.embargo_ends_at else ""
    restricted = " until the embargo ends" if record.restricted_until_embargo_end else ""
    sites = ", ".join(record.member_sites) or "none named"
    line = (
        f"{record.name}: access {record.access_level}{restricted}; embargo {status}{ends} "
        f"(threshold {record.embargo_threshold} cases, {record.embargo_window_days} days"
        f"{', start set by a curator' if record.embargo_set_by_curator else ''}); ISS member sites: {sites}"
    )
    notice = embargo_notice(record)
    return line + (f"\n{notice}" if notice else "")


def collections_show(
    name: Annotated[str, typer.Argument(help="Collection name.")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print a collection's governance record as JSON (access, embargo, licence, DOI, sites)."""
    from ria.access.embargo import embargo_fields
    from ria.catalog.governance import read_governance
    from ria.errors import NotFoundError

    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        record = read_governance(archive.engine, name)
    if record is None:
        raise NotFoundError(f"no collection named {name!r}")
    print(json.dumps({**record.to_json(), **embargo_fields(record)}, indent=2))


def collections_audit(
    name: Annotated[str | None, typer.Argument(help="Only this collection's events.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest events to show.")] = 50,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Print the audit trail (newest first) as JSON lines: who changed what, when and why."""
    from ria.catalog.governance import audit_events

    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        events = audit_events(archive.engine, target=name, limit=limit)
    for event in events:
        print(json.dumps(event.to_json(), sort_keys=True))


def seed_tcga_command(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="CSV with collection,cancer_type,doi (subjects_2021, modalities optional); "
            "default: the copy shipped with Ria.",
            show_default=False,
        ),
    ] = None,
    tcia_access: Annotated[
        bool,
        typer.Option(
            "--tcia-access",
            help="Also make TCGA-GBM, TCGA-HNSC and TCGA-LGG limited access, as TCIA did (audited).",
        ),
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create or update the 21 TCGA collections: cancer type, description, DOI and licence (CC BY 3.0)."""
    from ria.access.governance import apply_tcia_access, seed_tcga

    with Archive(build_settings(data_dir, database_url)) as archive:
        seeded = seed_tcga(archive.engine, file, actor=_actor())
        limited = apply_tcia_access(archive.engine, actor=_actor()) if tcia_access else []
    for record in seeded:
        out.print(f"{record.name}: {record.cancer_type}; doi {record.doi}", highlight=False, markup=False)
    out.print(f"{len(seeded)} TCGA collections seeded", highlight=False)
    if limited:
        names = ", ".join(record.name for record in limited)
        out.print(f"limited access (TCIA policy): {names}", highlight=False, markup=False)


def accrual_command(
    collection: Annotated[
        str | None,
        typer.Option("--collection", "-c", help="One collection (default: all).", show_default=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart", help="Also write a PNG chart of cases over time to this file.", show_default=False
        ),
    ] = None,
    period: Annotated[
        str, typer.Option("--period", help="Group arrivals by day or month (JSON's over_time).")
    ] = "day",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Accrual per collection: cases by site and over time, days to the embargo threshold, embargo status."""
    from ria.access.accrual import accrual_report

    if period not in ("day", "month"):
        raise InvalidParameterError("--period", "--period is day or month")
    chosen: Literal["day", "month"] = "day" if period == "day" else "month"
    with Archive.open_existing(build_settings(data_dir, database_url)) as archive:
        report = accrual_report(archive, collection, period=chosen)
    if chart is not None:
        chart.write_bytes(report.render_png())
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    from ria.cli.tables import print_table

    columns = ("collection", "access", "cases", "by site", "days to threshold", "threshold case",
               "embargo ends", "embargo")  # fmt: skip
    print_table(columns, report.table())
    for c in report.collections:
        if c.notice:
            out.print(c.notice, highlight=False, markup=False)
    if chart is not None:
        out.print(f"chart: {chart}", highlight=False, markup=False)
