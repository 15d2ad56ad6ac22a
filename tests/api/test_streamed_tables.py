"""Streamed TCIA tables keep the bytes of a table rendered whole (issue 14, item 5).

CSV and HTML write their header before the rows stream, so the one case where rows differ in
their columns — series of an embargoed collection carry three more — must still get the header
a whole table would: every column of every row, in order, even when the first row has fewer.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from ria.access import OPERATOR
from ria.access.governance import CollectionChanges, change_settings
from ria.api.tcia.dialect import V1, V4
from ria.api.tcia.fields import series_fields
from ria.api.tcia.formats import TciaFormat, render
from ria.archive import Archive
from ria.catalog.search import SeriesFilter
from tests.conftest import Corpus


@pytest.mark.parametrize("fmt", [TciaFormat.CSV, TciaFormat.HTML, TciaFormat.JSON, TciaFormat.XML])
def test_series_tables_with_and_without_embargo_columns_match_a_whole_render(
    archive: Archive, client: httpx.Client, corpus: Corpus, fmt: TciaFormat
) -> None:
    archive.ingest([corpus.root / "TCGA-LUAD"], "TCGA-LUAD")
    archive.ingest([corpus.root / "TCGA-BRCA"], "TCGA-BRCA")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    changes = CollectionChanges(embargo_start=start, embargo_days=365)
    change_settings(archive.engine, "TCGA-LUAD", changes, actor="curator", reason="marker paper window")
    collections = {info.name: info for info in archive.catalog.collections(principal=OPERATOR)}
    for dialect in (V1, V4):
        for where in (SeriesFilter(), SeriesFilter(collection="TCGA-BRCA")):
            rows = [
                series_fields(row, collections, dialect)
                for row in archive.catalog.series(where, principal=OPERATOR)
            ]
            expected = render(rows, fmt).body
            params = {"format": fmt.value} | ({"Collection": where.collection} if where.collection else {})
            answer = client.get(f"/nbia-api/services/{dialect.version}/getSeries", params=params)
            assert answer.status_code == 200
            assert answer.content == expected, (dialect.version, where.collection)
            header = answer.content.split(b"\n", 1)[0]
            if fmt is TciaFormat.CSV:  # BRCA's rows come first and lack the columns LUAD's rows add
                assert header.endswith(b'"EmbargoNotice"') == (where.collection is None)
