"""The publications that describe the archives a selection came from, and licence URLs in one form.

A paper that uses TCIA collections cites TCIA's own paper (Clark et al. 2013) besides each
collection's DOI, as TCIA's citation policy asks; one that uses series indexed by NCI Imaging Data
Commons cites IDC's paper (Fedorov et al. 2023), as IDC asks (the text in ``idc-index-data``'s
package description lists its authors). They are journal articles, rendered here for BibTeX,
RIS and CSL-JSON by the citation engine (:mod:`ria.access.citation`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["IDC_PAPER", "TCIA_PAPER", "Article", "canonical_licence_uri"]


@dataclass(frozen=True)
class Article:
    """A journal article: authors as ``(family, given initials)``."""

    key: str
    authors: tuple[tuple[str, str], ...]
    title: str
    journal: str
    year: int
    volume: str
    issue: str
    pages: str
    doi: str

    @property
    def url(self) -> str:
        return f"https://doi.org/{self.doi}"

    def short(self) -> str:
        """``Clark K, Vendt B, et al. Title. Journal. 2013;26(6):1045-1057. https://doi.org/…``."""
        names = ", ".join(
            f"{family} {given.replace('.', '').replace(' ', '')}" for family, given in self.authors[:3]
        )
        more = ", et al" if len(self.authors) > 3 else ""
        where = f"{self.journal}. {self.year};{self.volume}({self.issue}):{self.pages}"
        return f"{names}{more}. {self.title}. {where}. {self.url}"

    def bibtex_fields(self) -> list[tuple[str, str]]:
        authors = " and ".join(f"{family}, {given}" for family, given in self.authors)
        return [
            ("author", authors),
            ("title", self.title),
            ("journal", self.journal),
            ("year", str(self.year)),
            ("volume", self.volume),
            ("number", self.issue),
            ("pages", self.pages.replace("-", "--")),
            ("doi", self.doi),
            ("url", self.url),
        ]

    def ris_lines(self) -> list[str]:
        first, _, last = self.pages.partition("-")
        lines = ["TY  - JOUR", f"ID  - {self.key}"]
        lines += [f"AU  - {family}, {given}" for family, given in self.authors]
        lines += [f"TI  - {self.title}", f"JO  - {self.journal}", f"PY  - {self.year}"]
        lines += [f"VL  - {self.volume}", f"IS  - {self.issue}", f"SP  - {first}"]
        lines += [f"EP  - {last}"] if last else []
        return [*lines, f"DO  - {self.doi}", f"UR  - {self.url}", "ER  - "]

    def csl(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "type": "article-journal",
            "author": [{"family": family, "given": given} for family, given in self.authors],
            "title": self.title,
            "container-title": self.journal,
            "issued": {"date-parts": [[self.year]]},
            "volume": self.volume,
            "issue": self.issue,
            "page": self.pages,
            "DOI": self.doi,
            "URL": self.url,
        }


TCIA_PAPER = Article(
    key="clark2013tcia",
    authors=(
        ("Clark", "K."),
        ("Vendt", "B."),
        ("Smith", "K."),
        ("Freymann", "J."),
        ("Kirby", "J."),
        ("Koppel", "P."),
        ("Moore", "S."),
        ("Phillips", "S."),
        ("Maffitt", "D."),
        ("Pringle", "M."),
        ("Tarbox", "L."),
        ("Prior", "F."),
    ),
    title="The Cancer Imaging Archive (TCIA): Maintaining and Operating a Public Information Repository",
    journal="Journal of Digital Imaging",
    year=2013,
    volume="26",
    issue="6",
    pages="1045-1057",
    doi="10.1007/s10278-013-9622-7",
)
"""TCIA's paper, which TCIA asks every user of its collections to cite."""

IDC_PAPER = Article(
    key="fedorov2023idc",
    authors=(
        ("Fedorov", "A."),
        ("Longabaugh", "W. J. R."),
        ("Pot", "D."),
        ("Clunie", "D. A."),
        ("Pieper", "S. D."),
        ("Gibbs", "D. L."),
        ("Bridge", "C."),
        ("Herrmann", "M. D."),
        ("Homeyer", "A."),
        ("Lewis", "R."),
        ("Aerts", "H. J. W."),
        ("Krishnaswamy", "D."),
        ("Thiriveedhi", "V. K."),
        ("Ciausu", "C."),
        ("Schacherer", "D. P."),
        ("Bontempi", "D."),
        ("Pihl", "T."),
        ("Wagner", "U."),
        ("Farahani", "K."),
        ("Kim", "E."),
        ("Kikinis", "R."),
    ),
    title=(
        "National Cancer Institute Imaging Data Commons: Toward Transparency, Reproducibility, "
        "and Scalability in Imaging Artificial Intelligence"
    ),
    journal="RadioGraphics",
    year=2023,
    volume="43",
    issue="12",
    pages="e230180",
    doi="10.1148/rg.230180",
)
"""IDC's paper, which IDC asks every user of the data it indexes to cite."""

_CC_PATH = re.compile(r"^/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)(?:/.*)?$", re.IGNORECASE)


def canonical_licence_uri(uri: str | None) -> str | None:
    """One form per licence: ``https://creativecommons.org/licenses/by/3.0/`` however it was stored.

    Collections seeded from TCIA's listings say ``http://``, IDC's say ``https://``; a citation
    shows the same licence the same way. Other URLs are only moved to ``https`` when they were
    ``http`` on creativecommons.org; anything else is kept as recorded.
    """
    if uri is None or not uri.strip():
        return None
    parts = urlsplit(uri.strip())
    host = (parts.hostname or "").lower()
    if host not in ("creativecommons.org", "www.creativecommons.org"):
        return uri.strip()
    match = _CC_PATH.match(parts.path)
    if match is None:
        return f"https://creativecommons.org{parts.path or '/'}"
    kind, terms, version = match.groups()
    return f"https://creativecommons.org/{kind.lower()}/{terms.lower()}/{version}/"
