"""One hierarchy: each error carries its HTTP status and CLI exit code."""

from __future__ import annotations

from ria import errors


def test_statuses_and_exit_codes() -> None:
    assert (errors.InvalidParameterError.http_status, errors.InvalidParameterError.exit_code) == (400, 2)
    assert errors.NotFoundError.http_status == 404
    assert errors.ConflictError.http_status == 409
    assert errors.InvalidDicomError.http_status == 422
    assert (errors.UnauthorizedError.http_status, errors.UnauthorizedError.exit_code) == (401, 1)
    assert errors.RiaError.exit_code == 1
    assert (errors.PortUnavailableError.exit_code, errors.ConfigurationError.exit_code) == (1, 2)
    classes = [getattr(errors, name) for name in errors.__all__ if isinstance(getattr(errors, name), type)]
    assert len(classes) == len(errors.__all__) - 2  # and the two message helpers below
    assert all(issubclass(cls, errors.RiaError) for cls in classes)


def test_an_unknown_value_names_it_and_the_nearest_known_ones() -> None:
    known = ["TCGA-BRCA", "TCGA-LUAD", "TCGA-LUSC"]
    typo = errors.unknown_value("collection", "collection", "tcga-laud", known)
    assert typo.message == "unknown collection 'tcga-laud'; did you mean TCGA-LUAD or TCGA-LUSC?"
    assert typo.to_json()["details"] == {
        "parameter": "collection",
        "close_matches": ["TCGA-LUAD", "TCGA-LUSC"],
    }
    far = errors.unknown_value("collection", "collection", "CQ500", known)
    assert far.message == "unknown collection 'CQ500'; known: TCGA-BRCA, TCGA-LUAD, TCGA-LUSC"
    none = errors.unknown_value("mutated", "gene", "KRAS", [])
    assert none.message == "unknown gene 'KRAS'; there is no gene here yet"
    many = errors.unknown_value("mutated", "gene", "ZZZ9", [f"G{i:02d}" for i in range(12)])
    assert many.message.endswith("G09 … (12 in all)")


def test_json_body_names_the_parameter() -> None:
    error = errors.InvalidParameterError("SeriesInstanceUID", "SeriesInstanceUID is required")
    assert error.to_json() == {
        "error": "invalid_parameter",
        "message": "SeriesInstanceUID is required",
        "details": {"parameter": "SeriesInstanceUID"},
    }


def test_unauthorized_carries_its_challenge() -> None:
    error = errors.UnauthorizedError("token expired", challenge='Bearer realm="ria", error="invalid_token"')
    assert error.to_json() == {"error": "unauthorized", "message": "token expired"}
    assert error.challenge == 'Bearer realm="ria", error="invalid_token"'
    assert errors.UnauthorizedError("no token").challenge == 'Bearer realm="ria"'
