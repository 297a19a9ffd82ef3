"""Open311 GeoReport v2 at /open311/v2 (hub.open311): services, service requests (repair
tickets and citizens' reports), and citizens' reports coming in. Answers JSON, or XML for
clients that ask for `.xml` (FixMyStreet's adapter does by default). Reading is public and
shows nothing of who reported; posting may need an `api_key` (`[open311] api_keys`)."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import math
import time
from typing import Annotated, Any, Literal
from xml.etree import ElementTree as ET

from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from hub import audit, open311
from hub.api.deps import ApiDep, ClientIp, ConnDep
from hub.api.inputs import BadInput, check_text, clean_text

router = APIRouter(prefix="/open311/v2", tags=["open311"])

Format = Literal["json", "xml"]
MAX_REQUESTS = 1000
DEFAULT_WINDOW_S = 90 * 86400.0


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        el = ET.SubElement(top, item)
        for k, v in row.items():
            child = ET.SubElement(el, k)
            if v is not None:
                # ElementTree writes a control character as it is, which no XML parser
                # reads: text stored before input was checked must not break the feed.
                child.text = str(v).lower() if isinstance(v, bool) else clean_text(str(v))
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")


def _answer(fmt: str, root: str, item: str, rows: list[dict[str, Any]],
            status_code: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, rows), status_code=status_code,
                        media_type="text/xml; charset=utf-8")
    return Response(json.dumps(rows, ensure_ascii=False), status_code=status_code,
                    media_type="application/json")


def _absolute(rows: list[dict[str, Any]], api: ApiDep, request: Request
              ) -> list[dict[str, Any]]:
    """Open311 clients fetch `media_url` from wherever they run: a photo kept on this hub
    is named by its full address, under `[notify] public_url` when set (the address people
    reach the hub by, behind a proxy), else the address this request came to."""
    base = (api.settings.notify.public_url or str(request.base_url)).rstrip("/")
    for r in rows:
        if (url := r.get("media_url")) and url.startswith("/"):
            r["media_url"] = base + url
    return rows


def _jurisdiction(api: ApiDep, jurisdiction_id: str | None) -> None:
    expected = api.settings.open311.jurisdiction_id
    if jurisdiction_id not in (None, "", expected):
        raise HTTPException(404, f"unknown jurisdiction_id {jurisdiction_id!r}; this "
                                 f"endpoint serves {expected!r}")


def _date(name: str, value: str | None) -> float | None:
    if not value:
        return None
    try:
        d = dt.datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise HTTPException(400, f"{name}={value!r} is not a W3C date-time "
                                 "(e.g. 2026-01-31T18:00:00Z)") from None
    return (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).timestamp()


@router.get("/services.{fmt}")
def read_services(fmt: Format, api: ApiDep, jurisdiction_id: str | None = None) -> Response:
    """The service list: what a citizen can report about a street light."""
    _jurisdiction(api, jurisdiction_id)
    return _answer(fmt, "services", "service", [s.public() for s in open311.SERVICES])


@router.get("/services/{service_code}.{fmt}")
def read_service_definition(service_code: str, fmt: Format, api: ApiDep,
                            jurisdiction_id: str | None = None) -> Response:
    """A service's definition: its extra attributes. Roshni's services have none
    (`metadata` false), so the list is empty; clients ask for it anyway."""
    _jurisdiction(api, jurisdiction_id)
    if service_code not in open311.SERVICE_BY_CODE:
        raise HTTPException(404, f"no service {service_code!r}")
    if fmt == "xml":
        top = ET.Element("service_definition")
        ET.SubElement(top, "service_code").text = service_code
        ET.SubElement(top, "attributes")
        return Response(b'<?xml version="1.0" encoding="utf-8"?>'
                        + ET.tostring(top, encoding="utf-8"),
                        media_type="text/xml; charset=utf-8")
    return Response(json.dumps({"service_code": service_code, "attributes": []}),
                    media_type="application/json")


@router.get("/requests.{fmt}")
def read_requests(fmt: Format, api: ApiDep, conn: ConnDep, request: Request,
                  service_request_id: str | None = None, service_code: str | None = None,
                  start_date: str | None = None, end_date: str | None = None,
                  status: Annotated[Literal["open", "closed"] | None, Query()] = None,
                  jurisdiction_id: str | None = None) -> Response:
    """Repair tickets (`ticket-N`) and citizens' reports (`report-N`) as service requests.
    With `service_request_id` (comma-separated) just those; otherwise the ones requested
    between `start_date` and `end_date` (default: the last 90 days), newest first, at most
    1000."""
    _jurisdiction(api, jurisdiction_id)
    if service_request_id:
        rows = open311.find(conn, service_request_id.split(","))
    else:
        end = _date("end_date", end_date) or time.time()
        start = _date("start_date", start_date)
        start = end - DEFAULT_WINDOW_S if start is None else start
        if start > end:
            raise HTTPException(400, "start_date must be before end_date")
        if service_code is not None and service_code not in open311.SERVICE_BY_CODE:
            raise HTTPException(400, f"unknown service_code {service_code!r}")
        rows = open311.search(conn, start=start, end=end, service_code=service_code,
                              status=status, limit=MAX_REQUESTS)
    return _answer(fmt, "service_requests", "request", _absolute(rows, api, request))


@router.get("/requests/{service_request_id}.{fmt}")
def read_request(service_request_id: str, fmt: Format, api: ApiDep, conn: ConnDep,
                 request: Request, jurisdiction_id: str | None = None) -> Response:
    """One service request, as a list of one (GeoReport v2)."""
    _jurisdiction(api, jurisdiction_id)
    rows = open311.find(conn, [service_request_id])
    if not rows:
        raise HTTPException(404, f"no service request {service_request_id}")
    return _answer(fmt, "service_requests", "request", _absolute(rows, api, request))


def _client(api: ApiDep, form: FormData) -> str:
    keys = api.settings.open311.api_keys
    if not keys:
        return "public"
    given = str(form.get("api_key") or "")
    for i, k in enumerate(keys):
        if hmac.compare_digest(given.encode(), k.encode()):
            return f"key{i + 1}"
    raise HTTPException(403, "api_key is missing or not valid")


def _coordinate(form: FormData, name: str, low: float, high: float) -> float | None:
    raw = form.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(str(raw))
    except ValueError:
        raise HTTPException(400, f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise HTTPException(400, f"{name}={raw!r} is out of range ({low} to {high})")
    return value


@router.post("/requests.{fmt}", status_code=201,
             responses={201: {"description": '[{"service_request_id": "report-1", '
                                             '"service_notice": …}]'}})
async def create_request(fmt: Format, request: Request, api: ApiDep, ip: ClientIp
                         ) -> Response:
    """A citizen's report, form-encoded as GeoReport v2 (and FixMyStreet's adapter) send
    it: `service_code`, `lat`, `long` (or `address_string`), `description`, `email`,
    `first_name`, `last_name`, `phone`, `media_url`, `attribute[…]`, `api_key`. It is matched
    to the nearest lamp and what the lamp's sensor says (see hub.open311)."""
    form = await request.form()
    _jurisdiction(api, str(form.get("jurisdiction_id") or "") or None)
    client = _client(api, form)
    if client == "public":
        wait = await run_in_threadpool(
            api.transact, lambda c: api.report_limit.take(c, f"report:{ip[:64]}"))
        if wait > 0:
            raise HTTPException(429, f"too many reports from this address; try again in "
                                     f"{math.ceil(wait)} s",
                                headers={"Retry-After": str(math.ceil(wait))})
    code = str(form.get("service_code") or "")
    service = open311.SERVICE_BY_CODE.get(code)
    if service is None:
        raise HTTPException(400, f"service_code {code!r} is not one of "
                                 f"{', '.join(open311.SERVICE_BY_CODE)}")
    lat = _coordinate(form, "lat", -90, 90)
    lon = _coordinate(form, "long", -180, 180)
    if (lat is None) != (lon is None):
        raise HTTPException(400, "give both lat and long, or neither")
    if lat is None and not form.get("address_string") and not form.get("address_id"):
        raise HTTPException(400, "a location is required: lat and long, or address_string")
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    try:  # url-encoded forms were checked before routing; multipart ones are checked here
        for k, v in fields.items():
            check_text(k, "a field name")
            check_text(v, f"{k[:40]!r}")
    except BadInput as err:
        raise HTTPException(422, str(err)) from None
    def store() -> tuple[int, open311.Verdict]:
        s = api.settings.open311
        with api.engine.connect() as conn:
            verdict = open311.judge(conn, api.influx, api.sun, service, lat, lon,
                                    radius_m=s.match_radius_m, fresh_s=s.fresh_s)

        def change(conn):  # type: ignore[no-untyped-def]
            report_id = open311.submit(conn, verdict, service, fields, lat=lat, lon=lon,
                                       client=client)
            audit.record(conn, actor=f"open311:{client}", action="report.create",
                         target=f"report:{report_id}",
                         detail={"service_code": code, "node": getattr(verdict.node, "id",
                                                                       None),
                                 "verdict": verdict.verdict, "ticket_id": verdict.ticket_id,
                                 "alert_id": verdict.alert_id}, ip=ip)
            return report_id

        return api.transact(change), verdict

    report_id, verdict = await run_in_threadpool(store)
    return _answer(fmt, "service_requests", "request", [{
        "service_request_id": f"{open311.REPORT_PREFIX}{report_id}",
        "service_notice": verdict.notes,
        "account_id": None,
    }], status_code=201)

