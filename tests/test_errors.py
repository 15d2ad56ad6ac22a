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
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.RiaError)


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
