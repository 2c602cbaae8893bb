"""Sending a report to an `itaudit serve` collector over HTTPS.

Standard library only (the agent stays small). The collector is verified with
the certificate file the officer hands out (`--cafile`): on an office LAN
without a certificate authority, pinning that certificate is the trust anchor.
"""

from __future__ import annotations

import gzip
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPORTS_PATH = "/api/v1/reports"


class PushError(Exception):
    """The collector could not be reached (network, TLS, unexpected reply)."""


@dataclass(frozen=True)
class PushResult:
    http_status: int
    status: str  # accepted, duplicate, rejected, error
    reason: str


def collector_url(base: str) -> str:
    """`https://host:8443` (or the full endpoint) → the reports endpoint."""
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{base!r} is not a collector address (https://HOST:PORT)")
    path = parts.path.rstrip("/")
    if not path.endswith(REPORTS_PATH):
        path += REPORTS_PATH
    return f"{parts.scheme}://{parts.netloc}{path}"


def push_report(
    url: str,
    report_json: bytes,
    *,
    cafile: Path | None = None,
    token: str | None = None,
    timeout: float = 30,
) -> PushResult:
    """POST the report (gzip-compressed); the collector's verdict, or PushError."""
    endpoint = collector_url(url)
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    request = urllib.request.Request(
        endpoint, data=gzip.compress(report_json, mtime=0), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            code, raw = response.status, response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        code, raw = exc.code, exc.read(64 * 1024)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PushError(f"cannot reach {endpoint}: {reason}") from exc
    try:
        body = json.loads(raw)
        return PushResult(code, str(body.get("status", "error")), str(body.get("reason", ""))[:500])
    except (ValueError, AttributeError) as exc:
        raise PushError(
            f"{endpoint} answered HTTP {code} with something that is not a collector reply"
        ) from exc
