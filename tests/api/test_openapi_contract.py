"""The OpenAPI description is a contract a generated client can trust (issue 15, item 4).

Two halves, both over a real uvicorn server on loopback holding real DICOM (pydicom's own
test files) on SQLite and on PostgreSQL:

1. The document served at ``/api/v1/openapi.json`` is valid OpenAPI 3.1
   (``openapi-spec-validator``), and every ``{name}`` in a path template is declared as a
   path parameter of every operation on that path (read off the template independently).
2. schemathesis calls every operation with generated requests and holds each answer to
   the description: ``not_a_server_error``, ``status_code_conformance``,
   ``content_type_conformance`` and ``response_schema_conformance``.

How authenticated operations are exercised: every request carries an administrator's
bearer token (``Authorization: Bearer``), so the admin-only routes (audit, governance,
STOW) and the signed-in ones (TCIA v2, ``/api/v1/me``) run their real code instead of
stopping at a 401; the 401 answers themselves are declared from the routes' dependencies
and checked by the test of :mod:`ria.api.openapi`'s rules below. ``POST
/api/v1/tokens/revoke`` without a body revokes the token it is called with, so each of
its calls gets a fresh administrator token of its own.

Nothing is excluded: STOW-RS is called too (schemathesis cannot build a DICOM
multipart body, so its cases are the refusals — missing or wrong bodies — which must
still be declared answers).

Real answers, not only refusals: a UID nobody holds is a 400 or a 404, and those alone
would leave ``response_schema_conformance`` nothing to check. So the generated path
parameters, queries and forms are mixed (schemathesis ``flatmap_*`` hooks) with requests
naming what the archive really holds — the study, series and SOP instance UIDs, patient,
collection and a bulk data tag read with pydicom from the files that were ingested —
and ``test_real_answers_were_checked`` holds the run to having had 2xx answers there.

Bounded: ``MAX_EXAMPLES`` generated cases per operation and database, no deadline (the
machine is shared); the whole file runs in about three minutes on two cores.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from pydicom import dcmread
from pydicom.data import get_testdata_file
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ria.access.identity import add_user, issue_api_token
from ria.archive import Archive
from ria.dicom.uids import UID_PATTERN
from ria.settings import Settings
from tests.api.conftest import LiveServer, bearer
from tests.conftest import throwaway_postgres

MAX_EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
REAL_FILES = ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "SC_rgb_rle.dcm")
"""pydicom's test files: CT and MR, a JPEG 2000 and an RLE instance (frames, rendering)."""
REVOKE = "/api/v1/tokens/revoke"
BOUNDARY = "ria-contract-6a0f"
COLLECTION = "TCGA-LUAD"


def stow_body(files: tuple[Path, ...]) -> bytes:
    """A STOW-RS request body (PS3.18 10.5): the real files as application/dicom parts."""
    parts = [
        f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + path.read_bytes() + b"\r\n"
        for path in files
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@schemathesis.serializer("multipart/related")
def _real_dicom(_ctx: Any, _value: Any) -> bytes:
    """schemathesis cannot invent DICOM: STOW-RS cases send pydicom's real files instead."""
    return stow_body(tuple(Path(str(get_testdata_file(name))) for name in REAL_FILES))


class Held:
    """What one ingested file holds, read with pydicom (not asked of Ria)."""

    def __init__(self, path: Path) -> None:
        ds = dcmread(path)
        self.study = str(ds.StudyInstanceUID)
        self.series = str(ds.SeriesInstanceUID)
        self.sop = str(ds.SOPInstanceUID)
        self.patient = str(ds.PatientID)
        # a top-level binary value other than the pixel data: a bulk data path (PS3.18 F.2.6)
        binary = [e.tag for e in ds if isinstance(e.value, bytes) and e.tag not in (0x7FE00010, 0xFFFCFFFC)]
        self.bulk = f"{binary[0]:08X}" if binary else None

    def path_parameters(self) -> dict[str, str]:
        named = {"study": self.study, "series": self.series, "sop": self.sop}
        named |= dict.fromkeys(("collection", "name"), COLLECTION)
        named |= {"frames": "1", "frame": "1"}
        return named | ({"path": self.bulk} if self.bulk else {})

    def query(self, path: str) -> dict[str, str]:
        # a release date every series here is after, written as each dialect's route reads it
        since = (
            {"fromDate": "01-01-2000"} if "/v4/" in path else {"Date": "2000/01/01", "fromDate": "01/01/2000"}
        )
        return {
            **since,
            **dict.fromkeys(("StudyInstanceUID", "studyUID"), self.study),
            **dict.fromkeys(("SeriesInstanceUID", "SeriesUID", "seriesUID"), self.series),
            **dict.fromkeys(("SOPInstanceUID", "objectUID"), self.sop),
            **dict.fromkeys(("PatientID", "PatientId", "patient_id"), self.patient),
            **dict.fromkeys(("Collection", "collection", "collectionName"), COLLECTION),
            "requestType": "WADO",
        }

    def forms(self, path: str) -> list[dict[str, str]]:
        if path.endswith("SimpleSearch"):
            return [
                {"criteriaType0": "CollectionCriteria", "value0": COLLECTION},
                {"criteriaType0": "StudyCriteria", "value0": self.study, "sortField": "subject"},
            ]
        return [
            {
                **dict.fromkeys(("list", "seriesUIDs", "SeriesInstanceUID"), self.series),
                **dict.fromkeys(("studyUIDs", "StudyInstanceUID"), self.study),
                **dict.fromkeys(("patientIDs", "PatientID"), self.patient),
                **dict.fromkeys(("collection", "Collection"), COLLECTION),
            }
        ]


KNOBS = frozenset(("format", "contentType", "frameNumber", "windowCenter", "windowWidth", "rows", "columns"))
KNOBS |= {"window", "viewport", "quality", "Modality", "BodyPartExamined"}
"""Query parameters a plain request for a held thing leaves out (their defaults are valid)."""


def _overlay(generated: dict[str, Any], held: dict[str, str], declared: Iterable[str] = ()) -> dict[str, Any]:
    """``generated`` naming held things where it names anything (and where ``declared``), without knobs."""
    named = {name: held[name] for name in declared if name in held}
    return named | {name: held.get(name, value) for name, value in generated.items() if name not in KNOBS}


class Contract:
    """A live server over a real archive, an administrator's token for it, and what it holds."""

    def __init__(self, server: LiveServer, archive: Archive, held: list[Held]) -> None:
        self.server = server
        self.archive = archive
        self.admin = issue_api_token(archive.engine, "root", actor="test")
        self.held = held
        self.answers: dict[str, list[int]] = {}

    def token_for(self, path: str) -> str:
        # revoking without a body revokes the request's own token: give it one to lose
        return issue_api_token(self.archive.engine, "root", actor="test") if path == REVOKE else self.admin


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def contract(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Contract]:
    root = tmp_path_factory.mktemp(f"contract-{request.param}")
    scans = root / "scans"
    scans.mkdir()
    for name in REAL_FILES:
        found = get_testdata_file(name)
        assert found is not None, name
        shutil.copy(str(found), scans / name)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(_database(request))
        archive = stack.enter_context(Archive(Settings(data_dir=root / "data", database_url=url, workers=1)))
        report = archive.ingest([scans], collection="TCGA-LUAD")
        assert report.ingested == len(REAL_FILES), report.summary()
        add_user(archive.engine, "root", admin=True, actor="test")
        held = [Held(scans / name) for name in REAL_FILES]
        yield Contract(stack.enter_context(LiveServer(archive)), archive, held)


def _database(request: pytest.FixtureRequest) -> contextlib.AbstractContextManager[str | None]:
    """``None`` for SQLite, else a throw-away PostgreSQL database (as tests/conftest.py makes them)."""
    if request.param == "sqlite":
        return contextlib.nullcontext(None)
    return throwaway_postgres(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture(scope="module")
def document(contract: Contract) -> dict[str, Any]:
    response = httpx.get(f"{contract.server.url}/api/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on the first violation


def test_every_path_parameter_is_declared(document: dict[str, Any]) -> None:
    missing = []
    for path, item in document["paths"].items():
        named = set(re.findall(r"\{([^}/]+)\}", path))
        shared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for method, operation in item.items():
            if method == "parameters":
                continue
            declared = shared | {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            missing += [f"{method.upper()} {path}: {name}" for name in sorted(named - declared)]
    assert not missing


def test_errors_are_the_error_body(document: dict[str, Any]) -> None:
    """No FastAPI 422 validation schema is left: Ria answers those as 400 with its own body.

    Every error with a body is Ria's ``Error`` (the token endpoint's are OAuth's, RFC 6749);
    STOW-RS's 409 may also be DICOM JSON (its FailedSOPSequence, PS3.18 10.5.3); the one error
    without a body is getSingleImage's 416, which carries Content-Range instead.
    """
    assert "HTTPValidationError" not in document["components"]["schemas"]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    bodiless = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if not status.startswith(("4", "5")):
                    continue
                if "content" not in response:
                    bodiless.append((path, status))
                elif path == "/nbia-api/oauth/token" and status == "400":
                    assert response["content"]["application/json"]["schema"]["title"] == "OAuthError"
                elif "STOW-RS" in operation["summary"] and status == "409":
                    assert response["content"]["application/json"] == error["application/json"]
                    assert set(response["content"]) == {"application/json", "application/dicom+json"}
                else:
                    assert response["content"] == error, (method, path, status)
    assert {status for _, status in bodiless} == {"416"}


def test_declared_401_is_what_a_dead_token_gets(contract: Contract, document: dict[str, Any]) -> None:
    """401 is declared exactly where a revoked token is refused: read off each route, checked by calling it.

    The token is a real one, revoked before the calls; path parameters are placeholders
    (the token is checked before the path is looked up).
    """
    dead = issue_api_token(contract.archive.engine, "root", actor="test")
    assert httpx.post(f"{contract.server.url}{REVOKE}", headers=bearer(dead), timeout=30).status_code == 200
    wrong = []
    with httpx.Client(base_url=contract.server.url, headers=bearer(dead), timeout=30) as http:
        for path, item in document["paths"].items():
            url = re.sub(r"\{[^}]+\}", "x", path)
            for method, operation in item.items():
                answered = http.request(method.upper(), url).status_code
                if (answered == 401) != ("401" in operation["responses"]):
                    wrong.append(f"{method.upper()} {path}: {answered}")
    assert not wrong


def test_the_declared_criteria_are_the_evaluated_ones(contract: Contract, document: dict[str, Any]) -> None:
    """getSimpleSearch's criteriaType enum is what Ria evaluates: each a 200, one TCIA has beyond it a 400."""
    form = document["paths"]["/nbia-api/services/v4/getSimpleSearch"]["post"]["requestBody"]["content"]
    declared = form["application/x-www-form-urlencoded"]["schema"]["properties"]["criteriaType0"]["enum"]
    values = {"StudyCriteria": contract.held[0].study, "SeriesCriteria": contract.held[0].series}
    values |= {"MinNumberOfStudiesCriteria": "1", "ModalityAndedSearchCriteria": "all"}
    url = f"{contract.server.url}/nbia-api/services/v4/getSimpleSearch"
    with httpx.Client(headers=bearer(contract.admin), timeout=30) as http:
        for kind in declared:
            body = {"criteriaType0": kind, "value0": values.get(kind, "x")}
            if kind == "DateRangeCriteria":
                body |= {"fromDate0": "01-01-1990", "toDate0": "12-31-2030"}
            answer = http.post(url, data=body)
            assert answer.status_code == 200, (kind, answer.text)
        refused = http.post(url, data={"criteriaType0": "PhantomCriteria", "value0": "x"})
        assert refused.status_code == 400 and refused.json()["details"]["parameter"] == "criteriaType0"


@pytest.fixture(scope="module")
def api_schema(contract: Contract) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_url(f"{contract.server.url}/api/v1/openapi.json")
    held = contract.held

    @loaded.hook
    def flatmap_path_parameters(_ctx: Any, generated: dict[str, Any] | None) -> st.SearchStrategy[Any]:
        if not generated:
            return st.just(generated)
        named = [one.path_parameters() for one in held]
        named = [one for one in named if "path" in one or "path" not in generated]  # bulk data is held
        return st.sampled_from([*(_overlay(generated, one) for one in named), generated])

    @loaded.hook
    def flatmap_query(ctx: Any, generated: dict[str, Any] | None) -> st.SearchStrategy[Any]:
        if not generated or ctx.operation is None:
            return st.just(generated)
        path, declared = ctx.operation.path, [parameter.name for parameter in ctx.operation.query]
        return st.sampled_from([*(_overlay(generated, one.query(path), declared) for one in held), generated])

    @loaded.hook
    def flatmap_body(ctx: Any, generated: Any) -> st.SearchStrategy[Any]:
        media = ctx.operation.get_request_payload_content_types() if ctx.operation else []
        if not isinstance(generated, dict) or "application/x-www-form-urlencoded" not in media:
            return st.just(generated)
        path = ctx.operation.path
        if path.endswith("SimpleSearch"):
            real = [form for one in held for form in one.forms(path)]
        else:
            real = [_overlay(generated, form) for one in held for form in one.forms(path)]
        return st.sampled_from([*real, generated])

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_operation_keeps_the_contract(case: schemathesis.Case[Any], contract: Contract) -> None:
    headers = bearer(contract.token_for(case.operation.path))
    if case.media_type and case.media_type.startswith("multipart/related"):
        headers["Content-Type"] = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
    response = case.call_and_validate(base_url=contract.server.url, headers=headers, checks=CHECKS)
    contract.answers.setdefault(f"{case.method} {case.operation.path}", []).append(response.status_code)


def test_real_answers_were_checked(contract: Contract, document: dict[str, Any]) -> None:
    """Every GET taking a UID, and both simple searches, had a 2xx answer checked above.

    Runs after the schemathesis test on the same database (pytest keeps file order within
    a module-scoped parameter); alone, there is nothing to look at.
    """
    if not contract.answers:
        pytest.skip("needs test_operation_keeps_the_contract to have run on this database")
    wanted = [
        f"POST /nbia-api/services/v4/{name}" for name in ("getSimpleSearch", "getManifestForSimpleSearch")
    ]
    for path, item in document["paths"].items():
        taken = item.get("get", {}).get("parameters", [])
        if any(parameter["schema"].get("pattern") == UID_PATTERN for parameter in taken):
            wanted.append(f"GET {path}")
    assert len(wanted) > 60  # the DICOMweb retrievals at both roots, rendering, TCIA's UID queries
    unanswered = [
        label for label in wanted if not any(200 <= s < 300 for s in contract.answers.get(label, []))
    ]
    assert not unanswered, [(label, contract.answers.get(label)) for label in unanswered]
