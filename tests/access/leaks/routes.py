"""The leak matrix's route table: for every route of the app, how to call it and which checks apply.

An :class:`Entry` builds a request about a :class:`~tests.access.leaks.world.Target` (one collection's
identifiers, or well-formed ones that exist nowhere). *Targeted* entries are called once per collection
and once for the missing target, which is what the "not found = forbidden" comparison needs; the others
(listings, counts) are called once per caller. ``shows`` names what must appear when the target is
visible, so a route that answers nothing to everyone cannot pass (the non-vacuous side). Static routes
carry no catalogue data; they are listed with the reason and still get the forbidden-string check.

:func:`entries` is the whole table; ``test_every_route_has_an_entry`` fails for any route of
``create_app(archive)`` missing from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.access.leaks.world import MIXED_CART, Target

Shows = Callable[[Target], set[str]]


@dataclass(frozen=True)
class Req:
    """One HTTP request, without credentials (the caller adds its own)."""

    method: str
    url: str
    params: Mapping[str, str | list[str]] = field(default_factory=dict)
    data: Mapping[str, str | list[str]] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """A route and how the matrix exercises it."""

    method: str
    path: str
    call: Callable[[Target], Req]
    targeted: bool = True
    shows: Shows = lambda t: set()
    principal: bool = True
    """The route resolves the caller (a revoked token must be a 401)."""
    static: str | None = None
    """Why the route carries no catalogue data (``None``: it does)."""
    answers: bool = True
    signed_in: bool = False
    """Anonymous callers get a 401 (TCIA's v2, the caller's own account)."""
    """A visible target (or, untargeted, the call itself) gets a 2xx answer showing ``shows``."""

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def _series(t: Target) -> set[str]:
    return {t.series_uid}


def _patient(t: Target) -> set[str]:
    return {t.patient_id}


def _study(t: Target) -> set[str]:
    return {t.study_uid}


def _collection(t: Target) -> set[str]:
    return {t.collection}


def _sop(t: Target) -> set[str]:
    return {t.sop_uid}


def _nothing(t: Target) -> set[str]:
    return set()


def _get(url: str, **params: str | list[str]) -> Req:
    return Req("GET", url, params=params)


def _tcia(version: str) -> list[Entry]:
    """The query and download routes one TCIA version serves (v1, v2 = v1 behind a token, v4)."""
    base = f"/nbia-api/services/{version}"
    v4 = version == "v4"
    patient_key = "PatientId" if v4 else "PatientID"
    new_date = {"fromDate": "01-01-2000"} if v4 else {"Date": "2000/01/01"}
    updated = "01-01-2000" if v4 else "01/01/2000"

    def g(name: str, build: Callable[[Target], dict[str, str]], shows: Shows, targeted: bool = True) -> Entry:
        return Entry("GET", f"{base}/{name}", lambda t: _get(f"{base}/{name}", **build(t)), targeted, shows)

    table: list[Entry] = [
        g("getCollectionValues", lambda t: {}, _collection, targeted=False),
        g("getModalityValues", lambda t: {"Collection": t.collection}, _nothing),
        g("getBodyPartValues", lambda t: {"Collection": t.collection}, _nothing),
        g("getManufacturerValues", lambda t: {"Collection": t.collection}, _nothing),
        g("getPatient", lambda t: {"Collection": t.collection}, _patient),
        g("getPatient", lambda t: {patient_key: t.patient_id}, _collection),
        g(
            "getPatientByCollectionAndModality",
            lambda t: {"Collection": t.collection, "Modality": "CT"},
            _patient,
        ),
        g("NewPatientsInCollection", lambda t: {"Collection": t.collection, **new_date}, _patient),
        g("getPatientStudy", lambda t: {"Collection": t.collection, "PatientID": t.patient_id}, _study),
        g(
            "getPatientStudy",
            lambda t: {"Collection": t.collection, "StudyInstanceUID": t.study_uid},
            _patient,
        ),
        g("NewStudiesInPatientCollection", lambda t: {"Collection": t.collection, **new_date}, _study),
        g("getSeries", lambda t: {"Collection": t.collection}, _series),
        g("getSeries", lambda t: {"PatientID": t.patient_id}, _series),
        g("getSeries", lambda t: {"StudyInstanceUID": t.study_uid}, _series),
        g("getSeries", lambda t: {"SeriesInstanceUID": t.series_uid}, _collection),
        g("getUpdatedSeries", lambda t: {"fromDate": updated}, _series, targeted=False),
        g("getSeriesSize", lambda t: {"SeriesInstanceUID": t.series_uid}, _nothing),
        g("getSOPInstanceUIDs", lambda t: {"SeriesInstanceUID": t.series_uid}, _sop),
        g("getImage", lambda t: {"SeriesInstanceUID": t.series_uid}, _sop),
        g("getImage", lambda t: {"SeriesInstanceUID": t.series_uid, "NewFileNames": "Yes"}, _sop),
        g("getImageWithMD5Hash", lambda t: {"SeriesInstanceUID": t.series_uid}, _sop),
        g("getSingleImage", lambda t: {"SeriesInstanceUID": t.series_uid, "SOPInstanceUID": t.sop_uid}, _sop),
        Entry(
            "HEAD",
            f"{base}/getSingleImage",
            lambda t: Req(
                "HEAD",
                f"{base}/getSingleImage",
                params={"SeriesInstanceUID": t.series_uid, "SOPInstanceUID": t.sop_uid},
            ),
            shows=_sop,
        ),
    ]
    if v4:
        table.append(
            Entry(
                "POST",
                f"{base}/getSeriesMetadata",
                lambda t: Req("POST", f"{base}/getSeriesMetadata", data={"list": t.series_uid}),
                shows=_series,
            )
        )
    else:
        table.append(g("getSeriesMetaData", lambda t: {"SeriesInstanceUID": t.series_uid}, _collection))
    return [dataclasses.replace(e, signed_in=True) for e in table] if version == "v2" else table


V4 = "/nbia-api/services/v4"


def _post(path: str, build: Callable[[Target], dict[str, str | list[str]]], shows: Shows) -> Entry:
    return Entry("POST", path, lambda t: Req("POST", path, data=build(t)), shows=shows)


def _simple_search(
    kind: str, value: Callable[[Target], str]
) -> Callable[[Target], dict[str, str | list[str]]]:
    def build(t: Target) -> dict[str, str | list[str]]:
        return {"criteriaType0": kind, "value0": value(t), "start": "0", "size": "100"}

    return build


def _v4_extras() -> list[Entry]:
    """TCIA v4's search, manifest, description and MD5 routes (no v1 counterpart)."""
    return [
        _post(
            f"{V4}/getSimpleSearch", _simple_search("CollectionCriteria", lambda t: t.collection), _patient
        ),
        _post(
            f"{V4}/getSimpleSearch", _simple_search("PatientCriteria", lambda t: t.patient_id), _collection
        ),
        _post(f"{V4}/getSimpleSearch", _simple_search("SeriesCriteria", lambda t: t.series_uid), _patient),
        _post(
            f"{V4}/getManifestForSimpleSearch",
            _simple_search("CollectionCriteria", lambda t: t.collection),
            _series,
        ),
        _post(f"{V4}/getManifestText", lambda t: {"list": t.series_uid}, _series),
        _post(f"{V4}/getManifestFromPatientStudySeries", lambda t: {"patientIDs": t.patient_id}, _series),
        _post(
            f"{V4}/getManifestFromPatientStudySeries",
            lambda t: {"patientIDs": "TCGA-00-0000", "seriesUIDs": t.series_uid},
            _series,
        ),
        _post(f"{V4}/getManifestForCollection", lambda t: {"collection": t.collection}, _series),
        Entry(
            "GET",
            f"{V4}/getCollectionValuesAndCounts",
            lambda t: _get(f"{V4}/getCollectionValuesAndCounts"),
            False,
            _collection,
        ),
        Entry(
            "GET",
            f"{V4}/getModalityValuesAndCounts",
            lambda t: _get(f"{V4}/getModalityValuesAndCounts", Collection=t.collection),
        ),
        Entry(
            "GET",
            f"{V4}/getBodyPartValuesAndCounts",
            lambda t: _get(f"{V4}/getBodyPartValuesAndCounts", Collection=t.collection),
        ),
        Entry(
            "GET",
            f"{V4}/getManufacturerValuesAndCounts",
            lambda t: _get(f"{V4}/getManufacturerValuesAndCounts", Collection=t.collection),
        ),
        Entry(
            "GET", f"{V4}/getSpeciesValuesAndCounts", lambda t: _get(f"{V4}/getSpeciesValuesAndCounts"), False
        ),
        Entry(
            "GET",
            f"{V4}/getSpeciesTax",
            lambda t: _get(f"{V4}/getSpeciesTax"),
            False,
            principal=False,
            static="the SNOMED species taxonomy, a constant",
        ),
        Entry(
            "GET",
            f"{V4}/getCollectionDescriptions",
            lambda t: _get(f"{V4}/getCollectionDescriptions"),
            False,
            _collection,
        ),
        Entry(
            "GET",
            f"{V4}/getCollectionDescriptions",
            lambda t: _get(f"{V4}/getCollectionDescriptions", collectionName=t.collection),
            shows=_collection,
        ),
        _post(f"{V4}/getCollectionOrSeriesForDOI", lambda t: {"DOI": doi_of(t)}, _collection),
        _post(
            f"{V4}/getCollectionOrSeriesForDOI",
            lambda t: {"DOI": doi_of(t), "CollectionOrSeries": "series"},
            _series,
        ),
        Entry(
            "GET",
            f"{V4}/getDicomTags",
            lambda t: _get(f"{V4}/getDicomTags", SeriesUID=t.series_uid),
            shows=_nothing,
        ),
        Entry(
            "GET",
            f"{V4}/getMD5HashForImage",
            lambda t: _get(f"{V4}/getMD5HashForImage", SOPInstanceUID=t.sop_uid),
        ),
        _post(f"{V4}/getMD5Hierarchy", lambda t: {"SeriesInstanceUID": t.series_uid}, _nothing),
        _post(f"{V4}/getMD5Hierarchy", lambda t: {"StudyInstanceUID": t.study_uid}, _nothing),
        _post(f"{V4}/getMD5Hierarchy", lambda t: {"PatientID": t.patient_id}, _nothing),
        _post(f"{V4}/getMD5Hierarchy", lambda t: {"Collection": t.collection}, _nothing),
        Entry("GET", f"{V4}/getMinMaxTimepoints", lambda t: _get(f"{V4}/getMinMaxTimepoints"), False),
    ]


def doi_of(t: Target) -> str:
    return t.doi


def _ria_api() -> list[Entry]:
    """Ria's own API: collections, carts, manifests, cohorts, linkage, governance, citations, identity."""
    cohort = "/api/v1/cohorts/query"

    def cohort_view(view: str, shows: Shows, fmt: str = "json") -> Entry:
        return Entry(
            "POST",
            cohort,
            lambda t: Req(
                "POST", cohort, params={"view": view, "format": fmt}, json={"collection": [t.collection]}
            ),
            shows=shows,
        )

    return [
        Entry("GET", "/api/v1/collections", lambda t: _get("/api/v1/collections"), False, _collection),
        Entry(
            "GET",
            "/api/v1/manifest",
            lambda t: _get("/api/v1/manifest", collection=t.collection, format="csv"),
            shows=_series,
        ),
        Entry(
            "GET",
            "/api/v1/manifest",
            lambda t: _get("/api/v1/manifest", patient_id=t.patient_id),
            shows=_series,
        ),
        Entry(
            "POST",
            "/api/v1/carts",
            lambda t: Req("POST", "/api/v1/carts", json={"series": [t.series_uid]}),
            shows=_nothing,
        ),
        Entry("GET", "/api/v1/carts/{name}", lambda t: _get(f"/api/v1/carts/{MIXED_CART}"), False, _series),
        Entry(
            "POST",
            "/nbia-api/services/createSharedList",
            lambda t: Req("POST", "/nbia-api/services/createSharedList", data={"list": t.series_uid}),
            shows=_nothing,
        ),
        Entry(
            "GET",
            "/nbia-api/services/v1/getContentsByName",
            lambda t: _get("/nbia-api/services/v1/getContentsByName", name=MIXED_CART),
            False,
            _series,
        ),
        cohort_view("series", _series),
        cohort_view("series", _series, "csv"),
        cohort_view("patients", _patient),
        cohort_view("facets", _collection),
        cohort_view("manifest", _series, "tcia"),
        cohort_view("citation", _collection),
        Entry(
            "POST",
            "/api/v1/cohorts/survival",
            lambda t: Req(
                "POST",
                "/api/v1/cohorts/survival",
                params={"split_by": "clinical:sex", "format": "json"},
                json={"collection": [t.collection]},
            ),
            answers=False,
        ),
        Entry(
            "GET",
            "/api/v1/cohorts/fields",
            lambda t: _get("/api/v1/cohorts/fields"),
            False,
            principal=False,
            static="the clinical fields and genomic label names a query can test: no imaging data",
        ),
        Entry("GET", "/api/v1/genomics/linkage", lambda t: _get("/api/v1/genomics/linkage"), False),
        Entry(
            "GET",
            "/api/v1/genomics/linkage",
            lambda t: _get("/api/v1/genomics/linkage", collection=[t.collection]),
            shows=_collection,
        ),
        Entry(
            "GET",
            "/api/v1/collections/{name}/accrual",
            lambda t: _get(f"/api/v1/collections/{t.collection}/accrual"),
            shows=_collection,
        ),
        Entry(
            "GET",
            "/api/v1/collections/{name}/governance",
            lambda t: _get(f"/api/v1/collections/{t.collection}/governance"),
            shows=_collection,
        ),
        Entry(
            "PUT",
            "/api/v1/collections/{name}/governance",
            lambda t: Req("PUT", f"/api/v1/collections/{t.collection}/governance", json={}),
            answers=False,
        ),
        Entry("GET", "/api/v1/audit", lambda t: _get("/api/v1/audit"), False, answers=False),
        Entry(
            "GET",
            "/api/v1/citations",
            lambda t: _get("/api/v1/citations", series=[t.series_uid], format="bibtex"),
            shows=_collection,
        ),
        Entry(
            "GET",
            "/api/v1/citations",
            lambda t: _get("/api/v1/citations", collection=[t.collection]),
            shows=_collection,
        ),
        Entry(
            "GET",
            "/api/v1/citations",
            lambda t: _get("/api/v1/citations", cart=MIXED_CART, format="ris"),
            False,
            _collection,
        ),
        Entry(
            "POST",
            "/api/v1/citations",
            lambda t: Req("POST", "/api/v1/citations", json={"series": [t.series_uid], "format": "csl-json"}),
            shows=_collection,
        ),
        Entry(
            "POST",
            "/api/v1/citations",
            lambda t: Req("POST", "/api/v1/citations", json={"cohort": {"collection": [t.collection]}}),
            shows=_collection,
        ),
        Entry("GET", "/api/v1/me", lambda t: _get("/api/v1/me"), False, signed_in=True),
        Entry(
            "POST",
            "/api/v1/tokens/revoke",
            lambda t: Req("POST", "/api/v1/tokens/revoke", data={"token": "not-a-token-of-anyone"}),
            False,
            signed_in=True,
        ),
    ]


def _static() -> list[Entry]:
    """Routes with no catalogue data: documentation, health, sign-in, STOW-RS's refusals."""
    token = "/nbia-api/oauth/token"
    return [
        Entry(
            "GET",
            "/api/v1/openapi.json",
            lambda t: _get("/api/v1/openapi.json"),
            False,
            principal=False,
            static="the API's description: no catalogue data",
        ),
        Entry(
            "GET",
            "/api/v1/docs",
            lambda t: _get("/api/v1/docs"),
            False,
            principal=False,
            static="Swagger UI's page: no catalogue data",
        ),
        Entry(
            "HEAD",
            "/api/v1/docs",
            lambda t: Req("HEAD", "/api/v1/docs"),
            False,
            principal=False,
            static="Swagger UI's page headers",
        ),
        Entry(
            "HEAD",
            "/api/v1/openapi.json",
            lambda t: Req("HEAD", "/api/v1/openapi.json"),
            False,
            principal=False,
            static="the API description's headers",
        ),
        Entry(
            "GET",
            "/docs/oauth2-redirect",
            lambda t: _get("/docs/oauth2-redirect"),
            False,
            principal=False,
            static="Swagger UI's OAuth redirect page",
        ),
        Entry(
            "HEAD",
            "/docs/oauth2-redirect",
            lambda t: Req("HEAD", "/docs/oauth2-redirect"),
            False,
            principal=False,
            static="Swagger UI's OAuth redirect page headers",
        ),
        Entry(
            "GET",
            "/api/v1/health",
            lambda t: _get("/api/v1/health"),
            False,
            principal=False,
            static="server, catalogue and store status (no names, only health)",
        ),
        Entry(
            "POST",
            token,
            lambda t: Req(
                "POST", token, data={"grant_type": "password", "username": "member-a", "password": "wrong"}
            ),
            False,
            principal=False,
            static="sign-in: answers about credentials, never about collections",
            answers=False,
        ),
    ]


def _dicomweb(collection_root: bool) -> list[Entry]:
    """DICOMweb at the service root or at the target's per-collection root (QIDO, WADO-RS, WADO-URI, STOW)."""
    prefix = "/dicomweb/collections/{collection}" if collection_root else "/dicomweb"

    def root(t: Target) -> str:
        return f"/dicomweb/collections/{t.collection}" if collection_root else "/dicomweb"

    def entry(
        path: str, url: Callable[[Target], str], shows: Shows, **params: Callable[[Target], str]
    ) -> Entry:
        def call(t: Target) -> Req:
            return _get(root(t) + url(t), **{k: v(t) for k, v in params.items()})

        return Entry("GET", prefix + path, call, shows=shows)

    instance = "/studies/{study}/series/{series}/instances/{sop}"

    def inst(t: Target) -> str:
        return f"/studies/{t.study_uid}/series/{t.series_uid}/instances/{t.sop_uid}"

    table = [
        entry("/studies", lambda t: "/studies", _study, PatientID=lambda t: t.patient_id),
        entry("/studies", lambda t: "/studies", _patient, StudyInstanceUID=lambda t: t.study_uid),
        entry("/series", lambda t: "/series", _series, StudyInstanceUID=lambda t: t.study_uid),
        entry("/series", lambda t: "/series", _study, SeriesInstanceUID=lambda t: t.series_uid),
        entry("/studies/{study}/series", lambda t: f"/studies/{t.study_uid}/series", _series),
        entry("/instances", lambda t: "/instances", _sop, SeriesInstanceUID=lambda t: t.series_uid),
        entry("/instances", lambda t: "/instances", _series, SOPInstanceUID=lambda t: t.sop_uid),
        entry("/studies/{study}/instances", lambda t: f"/studies/{t.study_uid}/instances", _sop),
        entry(
            "/studies/{study}/series/{series}/instances",
            lambda t: f"/studies/{t.study_uid}/series/{t.series_uid}/instances",
            _sop,
        ),
        entry("/studies/{study}", lambda t: f"/studies/{t.study_uid}", _sop),
        entry(
            "/studies/{study}/series/{series}",
            lambda t: f"/studies/{t.study_uid}/series/{t.series_uid}",
            _sop,
        ),
        entry(instance, inst, _sop),
        entry("/studies/{study}/metadata", lambda t: f"/studies/{t.study_uid}/metadata", _sop),
        entry(
            "/studies/{study}/series/{series}/metadata",
            lambda t: f"/studies/{t.study_uid}/series/{t.series_uid}/metadata",
            _sop,
        ),
        entry(instance + "/metadata", lambda t: inst(t) + "/metadata", _sop),
        entry(instance + "/frames/{frames}", lambda t: inst(t) + "/frames/1", _nothing),
        entry(instance + "/frames", lambda t: inst(t) + "/frames", _nothing),
        entry(instance + "/bulkdata/{path:path}", lambda t: inst(t) + "/bulkdata/00431029", _nothing),
        entry(instance + "/rendered", lambda t: inst(t) + "/rendered", _nothing),
        entry(instance + "/frames/{frame}/rendered", lambda t: inst(t) + "/frames/1/rendered", _nothing),
        entry(instance + "/thumbnail", lambda t: inst(t) + "/thumbnail", _nothing),
        entry(
            "/studies/{study}/series/{series}/thumbnail",
            lambda t: f"/studies/{t.study_uid}/series/{t.series_uid}/thumbnail",
            _nothing,
        ),
        entry(
            "/studies/{study}/series/{series}/rendered",
            lambda t: f"/studies/{t.study_uid}/series/{t.series_uid}/rendered",
            _nothing,
        ),
        entry("/studies/{study}/rendered", lambda t: f"/studies/{t.study_uid}/rendered", _nothing),
        entry("/studies/{study}/thumbnail", lambda t: f"/studies/{t.study_uid}/thumbnail", _nothing),
        entry(
            "/wado",
            lambda t: "/wado",
            _sop,
            requestType=lambda t: "WADO",
            studyUID=lambda t: t.study_uid,
            seriesUID=lambda t: t.series_uid,
            objectUID=lambda t: t.sop_uid,
            contentType=lambda t: "application/dicom",
        ),
        # STOW-RS with an empty multipart body: refused before anything is stored, the same for all.
        Entry(
            "POST",
            prefix + "/studies",
            lambda t: Req("POST", root(t) + "/studies", headers=_EMPTY_MULTIPART),
            answers=False,
        ),
        Entry(
            "POST",
            prefix + "/studies/{study}",
            lambda t: Req("POST", f"{root(t)}/studies/{t.study_uid}", headers=_EMPTY_MULTIPART),
            answers=False,
        ),
    ]
    return table


_EMPTY_MULTIPART = {"Content-Type": 'multipart/related; type="application/dicom"; boundary=leakmatrix'}


def entries() -> list[Entry]:
    """Every row of the matrix."""
    return [
        *_static(),
        *(e for version in ("v1", "v2", "v4") for e in _tcia(version)),
        *_v4_extras(),
        *_ria_api(),
        *_dicomweb(False),
        *_dicomweb(True),
    ]
