"""No cheap request may cost the server dearly: every integer is bounded, every parameter checked first.

* Every integer parameter of every route — those FastAPI declares (found in the OpenAPI
  schema, which must give each a minimum and a maximum) and those parsed by hand (QIDO-RS
  ``limit``/``offset``, TCIA's ``start``/``size``, frame numbers, rendering options) — is
  fuzzed with huge, negative, non-numeric, float and empty values over real HTTP, on SQLite
  and PostgreSQL: never a 5xx; a bad value is a 400 whose JSON names the parameter; a good
  one is served.
* An invalid request never reaches the catalogue: SQL statements are counted on the
  archive's real engine (SQLAlchemy's ``before_cursor_execute``) while it is served.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from ria.access.identity import add_user, issue_api_token
from ria.archive import Archive
from ria.bounds import MAX_OFFSET
from tests.api.conftest import LiveServer
from tests.conftest import Corpus

COLLECTION = "TCGA-LUAD"
NASTY = [
    "",
    " ",
    "abc",
    "1.5",
    "1e3",
    "0x10",
    "²",
    "٣",
    "1_000",
    "--1",
    "NaN",
    str(2**63),
    str(2**64),
    "9" * 30,
    "9" * 5000,
    str(-(2**63)),
    "-1",
    "1\x00",
]


@dataclass(frozen=True)
class IntParam:
    """One integer parameter: how to send a value, and the values the route takes."""

    name: str
    send: Callable[[httpx.Client, str], httpx.Response]
    minimum: int
    maximum: int
    served: Callable[[int], bool] = lambda _value: True  # whether a valid value names something that exists
    in_path: bool = False  # a value that changes the path names no route: 404
    lenient: bool = False  # FastAPI/pydantic: "" is "not given", "1_000" and " 5" are numbers


@dataclass(frozen=True)
class World:
    server: LiveServer
    archive: Archive
    admin: str
    study: str
    series: str
    sop: str


@pytest.fixture
def world(archive: Archive, corpus: Corpus) -> Iterator[World]:
    archive.ingest([corpus.files[0]], COLLECTION)
    ds = pydicom.dcmread(corpus.files[0], stop_before_pixels=True)
    add_user(archive.engine, "root", admin=True, actor="test")
    token = issue_api_token(archive.engine, "root", actor="test")
    with LiveServer(archive) as live:
        yield World(
            live, archive, token, str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)
        )


def _query(path: str, name: str, **headers: str) -> Callable[[httpx.Client, str], httpx.Response]:
    return lambda client, value: client.get(path, params={name: value}, headers=headers)


def _openapi_integers(client: httpx.Client) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, parameter, schema) of every integer query/path parameter FastAPI declares."""
    found = []
    for path, operations in client.get("/api/v1/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                kinds = [schema.get("type")] + [choice.get("type") for choice in schema.get("anyOf", [])]
                if "integer" in kinds or "number" in kinds:
                    integer = next((c for c in [schema, *schema.get("anyOf", [])] if "maximum" in c), schema)
                    found.append((method, path, parameter["name"], integer))
    return found


def integer_parameters(world: World, client: httpx.Client) -> list[IntParam]:
    admin = {"Authorization": f"Bearer {world.admin}"}
    declared = []
    for method, path, name, schema in _openapi_integers(client):
        assert "minimum" in schema and "maximum" in schema, f"{method} {path} {name}: unbounded integer"
        assert method == "get" and "{" not in path, f"{method} {path}: teach this test to call it"
        declared.append(
            IntParam(
                name,
                _query(path, name, **admin),
                int(schema["minimum"]),
                int(schema["maximum"]),
                lenient=True,
            )
        )
    assert {p.name for p in declared} >= {"limit"}, "the audit trail's limit is declared with bounds"
    instance = f"/dicomweb/studies/{world.study}/series/{world.series}/instances/{world.sop}"
    qido_paths = [
        "/dicomweb/studies",
        "/dicomweb/series",
        "/dicomweb/instances",
        f"/dicomweb/studies/{world.study}/series",
        f"/dicomweb/studies/{world.study}/instances",
        f"/dicomweb/studies/{world.study}/series/{world.series}/instances",
        f"/dicomweb/collections/{COLLECTION}/studies",
    ]
    by_hand = [
        IntParam(name, _query(path, name), 0, MAX_OFFSET if name == "offset" else 10**18 - 1)
        for path in qido_paths
        for name in ("limit", "offset")
    ]
    by_hand += [
        IntParam(name, _simple_search(name), minimum, MAX_OFFSET, lenient=True)  # "" is the default
        for name, minimum in (("start", 0), ("size", 1))
    ]
    by_hand += [
        *(
            IntParam("frames", _frames(instance, then), 1, 2**31 - 1, _first, in_path=True)
            for then in ("", "/rendered")
        ),
        IntParam("quality", _query(f"{instance}/rendered", "quality"), 1, 100),
        IntParam(
            "viewport", lambda c, v: c.get(f"{instance}/rendered", params={"viewport": f"{v},{v}"}), 1, 65535
        ),
        IntParam("frameNumber", _wado_uri(world), 1, 2**31 - 1, _first, lenient=True),  # "" is frame 1
        IntParam("min_mutations", _cohort("min_mutations"), 0, 1_000_000_000, lenient=True),
    ]
    return declared + by_hand


def _first(frame: int) -> bool:
    return frame == 1  # the ingested instance has one frame


def _frames(instance: str, then: str) -> Callable[[httpx.Client, str], httpx.Response]:
    """The value as the frame list in a path: ``{instance}/frames/{value}{then}``."""
    return lambda client, value: client.get(f"{instance}/frames/{quote(value, safe='')}{then}")


def _simple_search(name: str) -> Callable[[httpx.Client, str], httpx.Response]:
    form = {"criteriaType0": "CollectionCriteria", "value0": COLLECTION}
    return lambda client, value: client.post(
        "/nbia-api/services/v4/getSimpleSearch", data={**form, name: value}
    )


def _wado_uri(world: World) -> Callable[[httpx.Client, str], httpx.Response]:
    uids = {"requestType": "WADO", "studyUID": world.study, "seriesUID": world.series, "objectUID": world.sop}
    return lambda client, value: client.get("/dicomweb/wado", params={**uids, "frameNumber": value})


def _cohort(name: str) -> Callable[[httpx.Client, str], httpx.Response]:
    def send(client: httpx.Client, value: str) -> httpx.Response:
        number: Any = int(value) if re.fullmatch(r"-?[0-9]{1,4300}", value) else value
        return client.post("/api/v1/cohorts/query", json={name: number})

    return send


def _check(param: IntParam, value: str, response: httpx.Response) -> None:
    where = f"{param.name}={value[:40]!r}: HTTP {response.status_code} {response.text[:200]}"
    assert response.status_code < 500, where
    text = value.strip()
    good = re.fullmatch(r"[+-]?[0-9]{1,18}", text) is not None and param.minimum <= int(text) <= param.maximum
    if good:
        expected = 200 if param.served(int(text)) else 404
        assert response.status_code == expected, where
    elif param.in_path and _names_another_path(value):
        # ``…/frames/`` is redirected to ``…/frames`` (every frame); anything else names no route
        assert response.status_code in (307, 404), where
    elif param.lenient and response.status_code == 200:
        # pydantic's lax mode reads more spellings than ASCII digits; what it reads must be in bounds.
        assert value.strip() == "" or param.minimum <= _lax_int(value) <= param.maximum, where
    else:
        assert response.status_code == 400, where
        body = response.json()
        # A NUL is refused before routing (ria.api.guards), where a path's parameters have no names yet.
        named = "path" if param.in_path and "\x00" in value else param.name
        assert body["error"] == "invalid_parameter" and body["details"]["parameter"] == named, where


def _names_another_path(value: str) -> bool:
    """An empty segment, a dot segment or a (percent-encoded) slash: the server decodes the path and routes
    the result, so the request names no route at all rather than a bad frame list."""
    return value in ("", ".", "..") or "/" in value


def _lax_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return int(float(value))


def test_every_integer_parameter_is_bounded_and_named_when_bad(world: World) -> None:
    with httpx.Client(base_url=world.server.url, timeout=60) as client:
        params = integer_parameters(world, client)
        for param in params:
            edges = [str(param.minimum), str(param.maximum), str(param.minimum - 1), str(param.maximum + 1)]
            for value in NASTY + edges:
                _check(param, value, param.send(client, value))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    choice=st.integers(min_value=0, max_value=1000),
    value=st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.integers(min_value=-5, max_value=200).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.text(max_size=30),
    ),
)
def test_fuzzed_integers_never_cost_a_5xx(world: World, choice: int, value: str) -> None:
    with httpx.Client(base_url=world.server.url, timeout=60) as client:
        params = integer_parameters(world, client)
        param = params[choice % len(params)]
        _check(param, value, param.send(client, value))


# --------------------------------------------------------------------------- validation before work


@pytest.fixture
def statements(world: World) -> Iterator[list[str]]:
    """Every SQL statement the archive's engine runs while the list is live."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(world.archive.engine, "before_cursor_execute", record)
    yield seen
    event.remove(world.archive.engine, "before_cursor_execute", record)


def _tcia_get_routes(client: httpx.Client) -> list[tuple[str, dict[str, str]]]:
    """Every TCIA GET route that takes ``format``, with valid values for its required parameters."""
    routes = []
    for path, operations in client.get("/api/v1/openapi.json").json()["paths"].items():
        if not path.startswith("/nbia-api/services/") or "get" not in operations:
            continue
        parameters = operations["get"].get("parameters", [])
        if not any(p["name"] == "format" for p in parameters):
            continue
        required = {p["name"]: p for p in parameters if p.get("required")}
        routes.append((path, {name: _valid(name, path) for name in required}))
    return routes


def _valid(name: str, path: str) -> str:
    if name in ("fromDate", "Date"):
        return "01-01-2000" if "/v4/" in path else ("01/01/2000" if name == "fromDate" else "2000/01/01")
    if name.endswith("UID"):
        return "1.2.3.4"
    return {"Collection": COLLECTION, "Modality": "CT"}.get(name, "x")


def test_a_bogus_format_is_refused_before_the_catalogue_is_asked(world: World, statements: list[str]) -> None:
    token = {"Authorization": f"Bearer {world.admin}"}
    with httpx.Client(base_url=world.server.url, timeout=60, headers=token) as client:
        routes = _tcia_get_routes(client)
        assert len(routes) >= 30, "v1, v2 and v4 query routes all take format"
        for path, params in routes:
            statements.clear()
            response = client.get(path, params={**params, "format": "bogus"})
            assert response.status_code == 400, (path, response.text[:200])
            assert response.json()["details"]["parameter"] == "format", path
            catalogue = [s for s in statements if "api_token" not in s and "users" not in s]
            assert catalogue == [], (
                f"{path} asked the catalogue before refusing format=bogus: {catalogue[:2]}"
            )
        form = {"list": "1.2.3.4", "format": "bogus"}
        statements.clear()
        response = client.post("/nbia-api/services/v4/getSeriesMetadata", data=form)
        assert response.status_code == 400 and response.json()["details"]["parameter"] == "format"


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/dicomweb/series?offset=99999999999999999999999999", "offset"),
        ("/dicomweb/studies?limit=abc", "limit"),
        ("/dicomweb/series?includefield=NoSuchAttribute", "includefield"),
        ("/dicomweb/series?StudyDate=2020-01-01", "StudyDate"),
        ("/dicomweb/series?StudyDate=20200101-2020", "StudyDate"),
        ("/dicomweb/instances?InstanceNumber=one", "InstanceNumber"),
        ("/dicomweb/studies?NoSuchKey=1", "NoSuchKey"),
        ("/dicomweb/studies?fuzzymatching=maybe", "fuzzymatching"),
        ("/nbia-api/services/v1/getUpdatedSeries?fromDate=2000-01-01", "fromDate"),
        (
            "/nbia-api/services/v4/getPatientStudy?Collection=TCGA-LUAD&StudyInstanceUID=not-a-uid",
            "StudyInstanceUID",
        ),
        ("/dicomweb/wado?requestType=WADO&studyUID=1&seriesUID=2&objectUID=3&frameNumber=0", "frameNumber"),
    ],
)
def test_invalid_qido_and_tcia_parameters_never_reach_the_catalogue(
    world: World, statements: list[str], path: str, parameter: str
) -> None:
    with httpx.Client(base_url=world.server.url, timeout=60) as client:
        response = client.get(path)
    assert response.status_code == 400, response.text[:200]
    assert response.json()["details"]["parameter"] == parameter
    assert statements == []
