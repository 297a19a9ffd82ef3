"""The one InfluxDB connection: write line protocol, query InfluxQL (DESIGN.md §5).

`api = "v1"` writes to ``/write`` (InfluxDB 1.x, database + user/password); `api = "v2"`
writes with influxdb-client (InfluxDB 2.x/3.x/1.8+, token + org + bucket). Both query with
InfluxQL over ``/query``. Library errors become `RetryLater` (the server is away: keep the
batch and try again) or `Rejected` (the server refuses this data: dead-letter it).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol
from urllib.parse import urlencode

import urllib3

from hub.config import InfluxSettings

log = logging.getLogger(__name__)


class InfluxError(Exception):
    pass


class RetryLater(InfluxError):
    """InfluxDB is unreachable, overloaded or timing out; the data is fine."""


class Rejected(InfluxError):
    """InfluxDB refused the data itself (HTTP 400-class); retrying will not help."""


class Influx(Protocol):
    def write(self, lines: bytes) -> None:
        """Line protocol with microsecond timestamps."""
    def query(self, influxql: str) -> list[dict[str, Any]]: ...
    def ensure_database(self) -> None: ...
    def close(self) -> None: ...


def connect(settings: InfluxSettings) -> Influx:
    if settings.api == "v2":
        return InfluxV2(settings)
    return InfluxV1(settings)


def _classify(status: int, body: str) -> InfluxError:
    if status in (400, 413, 422) or (400 <= status < 500 and status not in (401, 403, 404, 429)):
        return Rejected(f"HTTP {status}: {body[:500]}")
    # Auth errors and missing databases are configuration, fixed by an operator without
    # losing data; so are 429 and 5xx.
    return RetryLater(f"HTTP {status}: {body[:500]}")


class _HttpInflux:
    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self.http = urllib3.PoolManager(
            num_pools=2, maxsize=4,
            timeout=urllib3.Timeout(connect=min(5.0, settings.timeout_s), read=settings.timeout_s),
            retries=False,
        )

    def _auth_headers(self) -> dict[str, str]:
        return {}

    def _query_db(self) -> str:
        raise NotImplementedError

    def _request(self, method: str, path: str, *, fields: dict[str, str] | None = None,
                 body: bytes | None = None, headers: dict[str, str] | None = None
                 ) -> urllib3.BaseHTTPResponse:
        hdrs = {**self._auth_headers(), **(headers or {})}
        try:
            if body is not None:
                url = f"{self.base}{path}?{urlencode(fields or {})}"
                return self.http.request(method, url, body=body, headers=hdrs)
            return self.http.request(method, f"{self.base}{path}", fields=fields, headers=hdrs,
                                     encode_multipart=False)
        except urllib3.exceptions.HTTPError as err:
            raise RetryLater(f"{self.base}: {err}") from err

    def query(self, influxql: str) -> list[dict[str, Any]]:
        """Run InfluxQL; return the result list (each with `series`) or raise."""
        resp = self._request("POST", "/query", fields={"db": self._query_db(), "q": influxql,
                                                       "epoch": "ms"})
        text = resp.data.decode(errors="replace")
        if resp.status >= 300:
            raise _classify(resp.status, text)
        results = json.loads(text).get("results", [])
        for r in results:
            if "error" in r:
                raise Rejected(r["error"])
        return list(results)

    def close(self) -> None:
        self.http.clear()


class InfluxV1(_HttpInflux):
    def _auth_headers(self) -> dict[str, str]:
        s = self.settings
        if s.username:
            return urllib3.make_headers(basic_auth=f"{s.username}:{s.password or ''}")
        return {}

    def _query_db(self) -> str:
        return self.settings.database

    def ensure_database(self) -> None:
        if self.settings.create_database:
            # CREATE DATABASE is idempotent; with auth it needs an admin user.
            self._request("POST", "/query",
                          fields={"q": f'CREATE DATABASE "{self.settings.database}"'})

    def write(self, lines: bytes) -> None:
        resp = self._request("POST", "/write", fields={"db": self.settings.database,
                                                      "precision": "u"}, body=lines)
        if resp.status >= 300:
            raise _classify(resp.status, resp.data.decode(errors="replace"))


class InfluxV2(_HttpInflux):
    def __init__(self, settings: InfluxSettings) -> None:
        super().__init__(settings)
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        self._client = InfluxDBClient(url=settings.url, token=settings.token, org=settings.org,
                                      timeout=int(settings.timeout_s * 1000),
                                      enable_gzip=False)
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.settings.token}"}

    def _query_db(self) -> str:
        return self.settings.bucket  # InfluxDB 2.x maps it to the bucket through DBRP

    def ensure_database(self) -> None:
        pass  # buckets are created by the operator (deploy/influxdb)

    def write(self, lines: bytes) -> None:
        from influxdb_client.client.write.point import WritePrecision
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        try:
            self._write_api.write(bucket=self.settings.bucket, org=self.settings.org,
                                  record=lines, write_precision=WritePrecision.US)
        except ApiException as err:
            raise _classify(err.status or 0, str(err.body or err.reason)) from err
        except (HTTPError, OSError) as err:
            raise RetryLater(f"{self.base}: {err}") from err

    def close(self) -> None:
        self._write_api.close()
        self._client.close()
        super().close()
