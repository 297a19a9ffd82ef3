"""Every error leaves the hub as JSON {"detail": ...} with a 4xx status when the request
was at fault, and a JSON 500 (details in the hub's log, not in the answer) when the hub
was."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError

log = logging.getLogger(__name__)


def _validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors())
    try:
        json.dumps(errors, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        # The input echoed back cannot itself be JSON (a multipart field the input check
        # could not see): say what is wrong without repeating it.
        errors = [{k: v for k, v in e.items() if k not in ("input", "ctx")} for e in errors]
    return JSONResponse({"detail": errors}, status_code=422)


def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    # SQLite's OverflowError, PostgreSQL's numeric_value_out_of_range or a string too long
    # for its column: a value from the request that the database cannot hold.
    log.info("%s %s: refused a value out of range: %s", request.method, request.url.path,
             str(exc).splitlines()[0][:200])
    return JSONResponse({"detail": "a value in the request is out of range"},
                        status_code=422)


def _internal(request: Request, exc: Exception) -> JSONResponse:
    # Logged with its traceback by the server when it re-raises; the answer stays JSON.
    return JSONResponse({"detail": "internal error; the hub's log has the details"},
                        status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(Exception, _internal)
