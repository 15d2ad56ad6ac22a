"""How to cite any selection: the TCGA acknowledgment, each collection's DOI and licence, embargo
notices, and BibTeX, RIS and CSL-JSON entries a reference manager imports.

A selection is whatever a researcher holds: SeriesInstanceUIDs, a manifest, a shared cart, whole
collections, a cohort query — or several at once. It is reduced to the collections the caller may
see (:func:`ria.catalog.governance.collections_of_series`), because a citation is per collection:
TCIA's convention is one DataCite DOI per collection, and the TCGA publication guidelines ask every
publication to carry the TCGA Research Network acknowledgment and to respect any embargo in force.
Reference entries follow TCIA's own citation of its TCGA collections: "Radiology Data from The
Cancer Genome Atlas <cancer type> [<NAME>] collection", The Cancer Imaging Archive, the DOI; the
year is the one the DOI was minted in when the DOI says so (TCIA's ``10.7937/K9/TCIA.2016.*``),
else none is invented. The catalogue records no collection authors, so a TCGA collection's author is
the corporate "The Cancer Genome Atlas Research Network" (whose data it is) and any other's the
publisher: a journal's reference checker wants an author on every entry.

Every selection also cites the archives it came from (:mod:`ria.access.references`): TCIA's paper
for TCIA collections, IDC's paper when it holds series indexed by IDC. IDC's slide-microscopy (SM)
series of a TCGA collection are not its "Radiology Data" (IDC gives them their own DOIs, per
series): they are counted apart and sent to IDC's ``source_DOI``, never cited under the radiology DOI.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ria.access.embargo import EmbargoStatus, embargo_notice, embargo_status
from ria.access.principal import Principal
from ria.access.references import IDC_PAPER, TCIA_PAPER, Article, canonical_licence_uri
from ria.catalog.carts import cart_series
from ria.catalog.governance import collections_of_series, read_governance
from ria.cohort.results import TCGA_ACKNOWLEDGMENT

if TYPE_CHECKING:
    from ria.archive import Archive
    from ria.cohort.model import CohortQuery

__all__ = ["CITATION_FORMATS", "CitationFormat", "CitedCollection", "SelectionCitation", "cite"]

CitationFormat = Literal["text", "bibtex", "ris", "csl-json", "json"]
CITATION_FORMATS: tuple[CitationFormat, ...] = ("text", "bibtex", "ris", "csl-json", "json")
PUBLISHER = "The Cancer Imaging Archive"
TCGA_AUTHOR = "The Cancer Genome Atlas Research Network"
_DOI_YEAR = re.compile(r"TCIA\.((?:19|20)\d\d)\.", re.IGNORECASE)
_BIBTEX_SPECIAL = str.maketrans({"{": "", "}": "", "\\": "", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_"})


@dataclass(frozen=True)
class CitedCollection:
    """One collection a selection draws on, as it must be cited."""

    name: str
    cancer_type: str | None
    description: str | None
    doi: str | None
    license_name: str | None
    license_uri: str | None
    series: int
    patients: int
    embargo_status: EmbargoStatus
    embargo_ends_at: dt.datetime | None
    embargo_notice: str | None
    remote_series: int = 0
    slide_series: int = 0

    @property
    def author(self) -> str:
        """A corporate author: the TCGA Research Network for TCGA data, else the publisher."""
        return TCGA_AUTHOR if self.name.upper().startswith("TCGA-") else PUBLISHER

    @property
    def radiology(self) -> bool:
        """Whether the selection uses this collection's radiology data (or names the collection itself)."""
        return self.series == 0 or self.series > self.slide_series

    @property
    def title(self) -> str:
        subject = self.cancer_type or _first_sentence(self.description)
        if self.name.upper().startswith("TCGA-"):
            middle = f" {subject}" if subject else ""
            return f"Radiology Data from The Cancer Genome Atlas{middle} [{self.name}] collection"
        return f"{subject} [{self.name}] collection" if subject else f"{self.name} collection"

    @property
    def doi_name(self) -> str | None:
        """The bare DOI (``10.7937/…``), whichever way it was stored."""
        if self.doi is None:
            return None
        return re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", self.doi.strip(), flags=re.IGNORECASE)

    @property
    def url(self) -> str | None:
        return None if self.doi_name is None else f"https://doi.org/{self.doi_name}"

    @property
    def year(self) -> int | None:
        match = _DOI_YEAR.search(self.doi or "")
        return int(match.group(1)) if match else None

    @property
    def licence(self) -> str | None:
        if not self.license_name:
            return None
        return self.license_name + (f" ({self.license_uri})" if self.license_uri else "")

    @property
    def note(self) -> str:
        """Licence and embargo in a sentence or two, for reference managers' note fields."""
        parts = (f"Licence: {self.licence}." if self.licence else "", self.embargo_notice or "")
        return " ".join(part for part in parts if part)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "cancer_type": self.cancer_type,
            "doi": self.doi_name,
            "url": self.url,
            "year": self.year,
            "license_name": self.license_name,
            "license_uri": self.license_uri,
            "author": self.author,
            "series": self.series,
            "remote_series": self.remote_series,
            "slide_series": self.slide_series,
            "patients": self.patients,
            "embargo_status": self.embargo_status,
            "embargo_ends_at": None if self.embargo_ends_at is None else self.embargo_ends_at.isoformat(),
            "embargo_notice": self.embargo_notice,
        }


def _first_sentence(text: str | None) -> str | None:
    if not text or not text.strip():
        return None
    return re.split(r"\.\s|\n", text.strip(), maxsplit=1)[0].rstrip(".")[:120]


@dataclass(frozen=True)
class SelectionCitation:
    """Everything a publication using the selection must carry, evaluated at :attr:`at`."""

    at: dt.datetime
    collections: tuple[CitedCollection, ...]
    acknowledgment: str | None

    @property
    def embargo_notices(self) -> list[str]:
        return [c.embargo_notice for c in self.collections if c.embargo_notice]

    @property
    def archives(self) -> tuple[Article, ...]:
        """The archives' papers: TCIA's for its collections' data, IDC's for series IDC indexes."""
        tcia = any(c.radiology for c in self.collections)
        idc = any(c.remote_series for c in self.collections)
        return (TCIA_PAPER,) * tcia + (IDC_PAPER,) * idc

    @property
    def slide_notices(self) -> list[str]:
        return [
            f"{c.name}: {c.slide_series} slide microscopy series indexed by IDC are not TCIA radiology data: "
            "cite the source DOI IDC records for each (idc-index source_DOI), with IDC's paper."
            for c in self.collections
            if c.slide_series
        ]

    def keys(self) -> dict[str, str]:
        """A unique key per collection with a DOI whose radiology data is used (``tcia_tcga_luad``)."""
        keys: dict[str, str] = {}
        for c in self.collections:
            if c.doi_name is None or not c.radiology:
                continue
            base = "tcia_" + re.sub(r"[^a-z0-9]+", "_", c.name.lower()).strip("_")
            key, n = base, 2
            while key in keys.values():
                key, n = f"{base}_{n}", n + 1
            keys[c.name] = key
        return keys

    def text(self) -> str:
        lines = ["Data citation:"]
        for c in self.collections:
            what = c.name + (f" ({c.cancer_type})" if c.cancer_type else "")
            count = f"{c.patients} patient{'s' if c.patients != 1 else ''}, {c.series} series"
            cite = f"Cite {c.url}." if c.url else "No DOI is recorded for this collection."
            licence = f"Licence: {c.licence}." if c.licence else "No licence is recorded: ask the curators."
            lines.append(f"- {what}: {count}. {cite} {licence}")
        if not self.collections:
            lines.append("- (the selection holds no series you may see: nothing to cite)")
        lines += [f"- {notice}" for notice in self.slide_notices]
        if self.archives:
            lines += ["", "Archives:"] + [f"- {paper.short()}" for paper in self.archives]
        if self.embargo_notices:
            lines += ["", "Publication embargo:"] + [f"- {notice}" for notice in self.embargo_notices]
        if self.acknowledgment:
            lines += ["", "Acknowledgment (required):", self.acknowledgment]
        return "\n".join(lines) + "\n"

    def bibtex(self) -> str:
        keys = self.keys()
        entries = []
        for c in self.collections:
            if c.name not in keys:
                continue
            fields = [("title", c.title), ("publisher", PUBLISHER), ("howpublished", PUBLISHER)]
            fields.insert(0, ("author", "{" + _bibtex(c.author, "author") + "}"))  # corporate: in braces
            if c.year is not None:
                fields.append(("year", str(c.year)))
            fields += [("doi", c.doi_name or ""), ("url", c.url or "")]
            note = c.note
            if note:
                fields.append(("note", note))
            body = ",\n".join(f"  {name} = {{{_bibtex(value, name)}}}" for name, value in fields)
            entries.append(f"@misc{{{keys[c.name]},\n{body}\n}}\n")
        for paper in self.archives:
            body = ",\n".join(
                f"  {name} = {{{_bibtex(value, name)}}}" for name, value in paper.bibtex_fields()
            )
            entries.append(f"@article{{{paper.key},\n{body}\n}}\n")
        return "\n".join(entries)

    def ris(self) -> str:
        keys = self.keys()
        records = []
        for c in self.collections:
            if c.name not in keys:
                continue
            lines = ["TY  - DATA", f"ID  - {keys[c.name]}", f"AU  - {c.author}", f"TI  - {c.title}"]
            lines.append(f"PB  - {PUBLISHER}")
            if c.year is not None:
                lines.append(f"PY  - {c.year}")
            lines += [f"DO  - {c.doi_name}", f"UR  - {c.url}"]
            if c.licence:
                lines.append(f"N1  - Licence: {c.licence}")
            if c.embargo_notice:
                lines.append(f"N1  - {c.embargo_notice}")
            lines.append("ER  - ")
            records.append("\n".join(_one_line(line) for line in lines) + "\n")
        records += ["\n".join(paper.ris_lines()) + "\n" for paper in self.archives]
        return "\n".join(records)

    def csl_json(self) -> list[dict[str, Any]]:
        keys = self.keys()
        items: list[dict[str, Any]] = []
        for c in self.collections:
            if c.name not in keys:
                continue
            item: dict[str, Any] = {
                "id": keys[c.name],
                "type": "dataset",
                "author": [{"literal": c.author}],
                "title": c.title,
                "publisher": PUBLISHER,
                "DOI": c.doi_name,
                "URL": c.url,
            }
            if c.year is not None:
                item["issued"] = {"date-parts": [[c.year]]}
            note = c.note
            if note:
                item["note"] = note
            items.append(item)
        return items + [paper.csl() for paper in self.archives]

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "collections": [c.to_json() for c in self.collections],
            "acknowledgment": self.acknowledgment,
            "embargo_notices": self.embargo_notices,
            "slide_notices": self.slide_notices,
            "archives": [paper.csl() for paper in self.archives],
            "text": self.text(),
            "bibtex": self.bibtex(),
            "ris": self.ris(),
            "csl_json": self.csl_json(),
        }

    def render(self, fmt: CitationFormat) -> str:
        """The citation in one format, as text (JSON formats pretty-printed)."""
        if fmt == "text":
            return self.text()
        if fmt == "bibtex":
            return self.bibtex()
        if fmt == "ris":
            return self.ris()
        if fmt == "csl-json":
            return json.dumps(self.csl_json(), indent=2) + "\n"
        return json.dumps(self.to_json(), indent=2) + "\n"


def _bibtex(value: str, field: str) -> str:
    if field == "author" and value.startswith("{"):  # already escaped, braced as a corporate name
        return value
    if field in ("doi", "url"):
        return value.replace("{", "").replace("}", "")
    return " ".join(value.translate(_BIBTEX_SPECIAL).split())


def _one_line(line: str) -> str:
    # An RIS tag holds one line: a newline inside a value would start a bogus record line.
    return " ".join(line.split("\n"))


def cite(
    archive: Archive,
    principal: Principal,
    *,
    series_uids: Sequence[str] = (),
    collections: Sequence[str] = (),
    cart: str | None = None,
    cohort: CohortQuery | None = None,
    at: dt.datetime | None = None,
) -> SelectionCitation:
    """The citation of everything selected, as ``principal`` may see it, evaluated at ``at`` (default:
    ``principal.now()``). A manifest is read by the caller into ``series_uids``."""
    moment = at if at is not None else principal.now()
    uids = list(series_uids)
    genomics = False
    if cohort is not None:
        from ria.cohort.compiler import compile_query
        from ria.cohort.vocabulary import check_known

        check_known(archive, cohort, principal)  # a typo is an error, not an empty citation
        where = compile_query(archive.engine, cohort)
        uids += [row.series_instance_uid for row in archive.catalog.iter_series(where, principal=principal)]
        genomics = cohort.has_patient_conditions
    if cart is not None:
        uids += cart_series(archive.engine, cart, principal=principal)
    selected = collections_of_series(archive.engine, principal, series_uids=uids, collections=collections)
    cited: list[CitedCollection] = []
    for chosen in selected:
        info = read_governance(archive.engine, chosen.name)
        if info is None:  # removed between the two reads
            continue
        cited.append(
            CitedCollection(
                name=info.name,
                cancer_type=info.cancer_type,
                description=info.description,
                doi=info.doi,
                license_name=info.license_name,
                license_uri=canonical_licence_uri(info.license_uri),
                series=chosen.series,
                patients=chosen.patients,
                embargo_status=embargo_status(info, moment),
                embargo_ends_at=info.embargo_ends_at,
                embargo_notice=embargo_notice(info, moment),
                remote_series=chosen.remote_series,
                slide_series=chosen.slide_series,
            )
        )
    tcga = genomics or any(c.name.upper().startswith("TCGA-") for c in cited)
    return SelectionCitation(moment, tuple(cited), TCGA_ACKNOWLEDGMENT if tcga else None)
