"""Names, DOIs, licences and cancer types: how IDC's index vocabulary becomes TCIA's.

IDC names collections in snake case (``tcga_luad``); TCIA, and so every client of
Ria's TCIA API, knows them as ``TCGA-LUAD``. The mapping is mechanical both ways,
which is what lets a user type either. The tables here are public vocabulary
(TCGA's 33 study codes, Creative Commons licence names), small and stable enough
to be data in the code rather than a download.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

__all__ = [
    "TCGA_CANCER_TYPES",
    "Licence",
    "choose_doi",
    "collection_description",
    "idc_collection_id",
    "licence",
    "normalise_doi",
    "tcia_name",
]

# The 33 TCGA study codes and their cancer types, as the GDC and TCIA name them.
TCGA_CANCER_TYPES: dict[str, str] = {
    "ACC": "Adrenocortical carcinoma",
    "BLCA": "Bladder urothelial carcinoma",
    "BRCA": "Breast invasive carcinoma",
    "CESC": "Cervical squamous cell carcinoma and endocervical adenocarcinoma",
    "CHOL": "Cholangiocarcinoma",
    "COAD": "Colon adenocarcinoma",
    "DLBC": "Lymphoid neoplasm diffuse large B-cell lymphoma",
    "ESCA": "Esophageal carcinoma",
    "GBM": "Glioblastoma multiforme",
    "HNSC": "Head and neck squamous cell carcinoma",
    "KICH": "Kidney chromophobe",
    "KIRC": "Kidney renal clear cell carcinoma",
    "KIRP": "Kidney renal papillary cell carcinoma",
    "LAML": "Acute myeloid leukemia",
    "LGG": "Brain lower grade glioma",
    "LIHC": "Liver hepatocellular carcinoma",
    "LUAD": "Lung adenocarcinoma",
    "LUSC": "Lung squamous cell carcinoma",
    "MESO": "Mesothelioma",
    "OV": "Ovarian serous cystadenocarcinoma",
    "PAAD": "Pancreatic adenocarcinoma",
    "PCPG": "Pheochromocytoma and paraganglioma",
    "PRAD": "Prostate adenocarcinoma",
    "READ": "Rectum adenocarcinoma",
    "SARC": "Sarcoma",
    "SKCM": "Skin cutaneous melanoma",
    "STAD": "Stomach adenocarcinoma",
    "TGCT": "Testicular germ cell tumors",
    "THCA": "Thyroid carcinoma",
    "THYM": "Thymoma",
    "UCEC": "Uterine corpus endometrial carcinoma",
    "UCS": "Uterine carcinosarcoma",
    "UVM": "Uveal melanoma",
}


@dataclass(frozen=True, slots=True)
class Licence:
    """A licence as TCIA reports it: a full name and, when there is one, the URI of its text."""

    name: str
    uri: str | None


# IDC's short licence names → TCIA's long names and the licence text. Unknown names are kept as they are.
_LICENCES: dict[str, Licence] = {
    "CC BY 3.0": Licence(
        "Creative Commons Attribution 3.0 Unported License", "https://creativecommons.org/licenses/by/3.0/"
    ),
    "CC BY 4.0": Licence(
        "Creative Commons Attribution 4.0 International License",
        "https://creativecommons.org/licenses/by/4.0/",
    ),
    "CC BY-NC 3.0": Licence(
        "Creative Commons Attribution-NonCommercial 3.0 Unported License",
        "https://creativecommons.org/licenses/by-nc/3.0/",
    ),
    "CC BY-NC 4.0": Licence(
        "Creative Commons Attribution-NonCommercial 4.0 International License",
        "https://creativecommons.org/licenses/by-nc/4.0/",
    ),
    "CC BY-SA 4.0": Licence(
        "Creative Commons Attribution-ShareAlike 4.0 International License",
        "https://creativecommons.org/licenses/by-sa/4.0/",
    ),
    "CC BY-NC-SA 4.0": Licence(
        "Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International License",
        "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    ),
    "CC0 1.0": Licence(
        "Creative Commons CC0 1.0 Universal Public Domain Dedication",
        "https://creativecommons.org/publicdomain/zero/1.0/",
    ),
}


def licence(short_name: str) -> Licence:
    """TCIA's name and URI for an IDC ``license_short_name`` (unknown names pass through, without a URI)."""
    key = " ".join(short_name.split())
    return _LICENCES.get(key.upper(), Licence(key, None))


def tcia_name(idc_id: str) -> str:
    """``tcga_luad`` → ``TCGA-LUAD``: the name TCIA's clients know the collection by."""
    return idc_id.strip().upper().replace("_", "-")


def idc_collection_id(name: str) -> str:
    """``TCGA-LUAD`` (or ``tcga_luad``, any case) → ``tcga_luad``: IDC's ``collection_id``."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def normalise_doi(doi: str) -> str:
    """A bare DOI upper-cased as TCIA prints it (``10.7937/K9/TCIA.2016.JGNIHEP5``); DOIs ignore case."""
    bare = doi.strip()
    for prefix in (
        "https://doi.org/",
        "http://doi.org/",
        "http://dx.doi.org/",
        "https://dx.doi.org/",
        "doi:",
    ):
        if bare.lower().startswith(prefix):
            bare = bare[len(prefix) :]
    return bare.upper()


def choose_doi(original: Counter[str], every: Counter[str]) -> str | None:
    """The collection's DOI among its series' ``source_DOI`` values.

    IDC gives each series the DOI of what it came from: the imaging collection
    itself, or a later analysis (segmentations, annotations) or slide conversion
    with its own DOI. A collection is cited by the DOI of its original series,
    and where those have several (TCGA radiology on TCIA, pathology slides on
    Zenodo) the TCIA one (prefix ``10.7937``), as TCIA lists it; otherwise the
    most common one.
    """
    pool = original or every
    if not pool:
        return None
    tcia = Counter({doi: n for doi, n in pool.items() if doi.startswith("10.7937/")})
    ranked = (tcia or pool).most_common()
    best = max(n for _, n in ranked)
    return min(doi for doi, n in ranked if n == best)


def collection_description(idc_id: str) -> str | None:
    """A TCGA collection's description: its cancer type (``None`` for anything else)."""
    prefix, _, code = idc_id.partition("_")
    if prefix != "tcga":
        return None
    cancer = TCGA_CANCER_TYPES.get(code.upper())
    if cancer is None:
        return None
    return (
        f"{cancer} ({tcia_name(idc_id)}): The Cancer Genome Atlas imaging as indexed by NCI Imaging Data "
        "Commons. This archive holds the series metadata only; the images stay at their source."
    )
