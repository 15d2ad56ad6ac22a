"""The single mapping from Ria's errors (and FastAPI's validation errors) to HTTP JSON bodies."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ria.errors import CatalogUnavailableError, InvalidParameterError, RiaError, UnauthorizedError

__all__ = ["install_error_handlers"]

log = logging.getLogger(__name__)


def _ria_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RiaError)
    if exc.http_status >= 500:
        log.error("%s: %s", type(exc).__name__, exc.message)
    headers = {"WWW-Authenticate": exc.challenge} if isinstance(exc, UnauthorizedError) else None
    return JSONResponse(exc.to_json(), status_code=exc.http_status, headers=headers)


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("query", "body", "path")]
    parameter = ".".join(location) or "request"
    message = f"parameter {parameter}: {first.get('msg', 'invalid value')}"
    return _ria_error(_request, InvalidParameterError(parameter, message))


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"error": code, "message": str(exc.detail)}, status_code=exc.status_code)


def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    # Never echo driver messages to clients: they can carry SQL, host names or values.
    log.error("catalogue error: %s", type(exc).__name__)
    return _ria_error(_request, CatalogUnavailableError("the catalogue is unavailable; try again later"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RiaError, _ria_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
