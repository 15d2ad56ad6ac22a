"""Shared carts in the catalogue, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ria.access import OPERATOR
from ria.archive import Archive
from ria.catalog.carts import cart_series, create_cart
from ria.errors import ConflictError, InvalidParameterError, NotFoundError
from tests.conftest import Corpus


@pytest.fixture
def archive_with_series(archive: Archive, corpus: Corpus) -> Archive:
    archive.ingest([corpus.root / "TCGA-LUAD"], "TCGA-LUAD")
    return archive


def test_a_cart_lists_its_series_sorted_without_repeats(archive_with_series: Archive) -> None:
    uids = [row.series_instance_uid for row in archive_with_series.catalog.series(principal=OPERATOR)]
    chosen = [uids[2], uids[0], uids[2]]
    name = create_cart(archive_with_series.engine, chosen, description="for the paper", principal=OPERATOR)
    assert name.startswith("ria-") and len(name) == 21
    assert cart_series(archive_with_series.engine, name, principal=OPERATOR) == sorted({uids[0], uids[2]})


def test_names_are_checked_and_never_overwritten(archive_with_series: Archive) -> None:
    uid = archive_with_series.catalog.series(principal=OPERATOR)[0].series_instance_uid
    engine = archive_with_series.engine
    assert create_cart(engine, [uid], "lung-ct_2026.v1", principal=OPERATOR) == "lung-ct_2026.v1"
    with pytest.raises(ConflictError, match="already exists"):
        create_cart(engine, [uid], "lung-ct_2026.v1", principal=OPERATOR)
    for bad in ("", "-starts-with-dash", "has space", "x" * 65, "../etc"):
        with pytest.raises(InvalidParameterError):
            create_cart(engine, [uid], bad, principal=OPERATOR)
    with pytest.raises(InvalidParameterError):
        cart_series(engine, "has space", principal=OPERATOR)
    with pytest.raises(NotFoundError):
        cart_series(engine, "no-such-cart", principal=OPERATOR)


def test_every_series_must_exist_and_nothing_is_half_written(archive_with_series: Archive) -> None:
    engine = archive_with_series.engine
    uid = archive_with_series.catalog.series(principal=OPERATOR)[0].series_instance_uid
    with pytest.raises(NotFoundError) as caught:
        create_cart(engine, [uid, "1.2.3.4"], "partial", principal=OPERATOR)
    assert caught.value.details["missing"] == ["1.2.3.4"]
    with pytest.raises(NotFoundError):
        cart_series(engine, "partial", principal=OPERATOR)
    with pytest.raises(InvalidParameterError):
        create_cart(engine, [], "empty", principal=OPERATOR)
    with pytest.raises(InvalidParameterError):
        create_cart(engine, ["not-a-uid"], "bad-uid", principal=OPERATOR)
