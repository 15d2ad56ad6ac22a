"""Number conditions out of any real range are refused naming the field, never a 500 or non-JSON.

Before the bound, an integer beyond any float (``10**400`` in the JSON body) was an
OverflowError and a 500 with the connection reset, and ``inf``/``nan``/``1e400`` went to
the database and came back as ``Infinity``/``NaN`` in an answer that is not JSON. Checked
over HTTP (a real server) and the CLI (a real process), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from ria.cohort.model import NUMBER_LIMIT, FieldCondition
from ria.errors import InvalidParameterError
from tests.api.conftest import LiveServer
from tests.cli.test_cli import db_args, ria
from tests.cohort.conftest import Radiogenomic

OUT_OF_RANGE = ["10" + "0" * 400, "1e400", "-1e30", "1e16", '"inf"', '"-Infinity"', '"nan"', '"1e400"']


@pytest.fixture(scope="module")
def http(radiogenomic: Radiogenomic) -> Iterator[httpx.Client]:
    with LiveServer(radiogenomic.archive) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


def _query(http: httpx.Client, op: str, value: str) -> httpx.Response:
    # Written by hand: a JSON number of 401 digits is what a client may send, and json.dumps cannot.
    shown = f"[{value}]" if op == "in" else value
    body = f'{{"clinical": [{{"field": "days_to_death", "op": "{op}", "value": {shown}}}]}}'
    return http.post("/api/v1/cohorts/query", content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize("op", ["eq", "le", "in"])
def test_http_refuses_numbers_out_of_range_naming_the_field(http: httpx.Client, op: str, value: str) -> None:
    answer = _query(http, op, value)
    assert answer.status_code == 400, answer.text[:300]
    body = answer.json()
    assert "days_to_death" in json.dumps(body)
    assert len(answer.text) < 1000  # the 401 digits are not echoed back


@pytest.mark.parametrize("value", ["1e15", "-1e15", "0", "1095.5"])
def test_http_takes_numbers_up_to_the_bound(http: httpx.Client, value: str) -> None:
    answer = _query(http, "le", value)
    assert answer.status_code == 200, answer.text[:300]
    json.loads(answer.text)  # strict JSON: no Infinity or NaN


@pytest.mark.parametrize("condition", ["days_to_death<=1e400", "days_to_death>nan", "age_years=1" + "0" * 30])
def test_cli_refuses_numbers_out_of_range(radiogenomic: Radiogenomic, condition: str) -> None:
    settings = radiogenomic.settings
    result = ria(
        "cohort", "-c", "TCGA-OV", "--clinical", condition, *db_args(settings.data_dir, settings.database_url)
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert condition.split("<")[0].split(">")[0].split("=")[0] in result.stderr


def test_the_bound_is_inclusive_and_finite() -> None:
    assert FieldCondition("x", "le", NUMBER_LIMIT).checked("number").value == NUMBER_LIMIT
    assert FieldCondition("x", "in", ["-1e15", 3]).checked("number").value == (-NUMBER_LIMIT, 3.0)
    for bad in (NUMBER_LIMIT * 1.0000001, float("inf"), float("nan"), 10**400, "1e309"):
        with pytest.raises(InvalidParameterError) as raised:
            FieldCondition("x", "le", bad).checked("number")
        assert raised.value.parameter == "x" and len(raised.value.message) < 120
