"""`itaudit serve`: an HTTPS collector for reports pushed by agents on the LAN.

Pushed reports go through exactly the checks of `itaudit ingest` (size bound,
schema, freshness, signature, key pinning); the server only adds transport:
TLS (a self-signed certificate made on first run, whose fingerprint agents
pin), bearer secrets, enrolment and revocation (itaudit/server_gate.py), a body
limit enforced before reading, and socket timeouts so a slow client cannot hold
a thread for ever. Windows collector bundles pushed to /api/v1/bundles are
parsed here by the code of `itaudit agent parse`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from itaudit import __version__
from itaudit.enrolment import Credential
from itaudit.errors import ItauditError, UsageError
from itaudit.ingest import _FILE_ERRORS, FileOutcome, Ingestor, Rejected, Source, clean_text
from itaudit.org.matching import RegisterIndex
from itaudit.server_gate import Gate, bundle_report
from itaudit.store import Store

REPORTS_PATH = "/api/v1/reports"
# A Windows collector bundle (.zip) pushed by the scheduled task: parsed here.
BUNDLES_PATH = "/api/v1/bundles"
HEALTH_PATH = "/healthz"
SOCKET_TIMEOUT = 30.0
DRAIN_LIMIT = 8 * 1024 * 1024  # read and drop at most this much of a refused body
# One thread per connection: beyond this many at once, a new connection is
# closed at once, so a flood of idle clients cannot exhaust threads or memory.
MAX_CONNECTIONS = 64
# One address may hold only a few of them: a slow or hostile client (100 sockets
# sending a byte a second) is refused beyond this, and the rest of the LAN still
# gets its slots. An office NAT puts few agents behind one address.
MAX_PER_ADDRESS = 8
# A whole request (TLS handshake, headers, body) must arrive within this time,
# plus one second per MIN_RATE bytes of body: a client trickling a byte before
# each socket timeout is cut off instead of holding its slot for ever.
REQUEST_DEADLINE = 30.0
MIN_RATE = 16 * 1024
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f]")

log = logging.getLogger("itaudit.server")


@dataclass(frozen=True)
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 8443
    max_bytes: int = 5 * 1024 * 1024
    token: str | None = None
    cert: Path | None = None
    key: Path | None = None  # both None: plain HTTP (only for loopback or a trusted segment)
    # Antivirus/EDR catalogues for pushed bundles: the workspace's file first (may be absent).
    catalog_files: tuple[Path, ...] = ()


def certificate_fingerprint(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return "SHA256:" + cert.fingerprint(hashes.SHA256()).hex(":").upper()


def ensure_self_signed(folder: Path, names: list[str]) -> tuple[Path, Path]:
    """The collector's certificate and key in `folder`, created on first use.

    The key is written 0600. Agents pin the certificate (or its fingerprint):
    no certificate authority is needed on an office LAN without Internet.
    """
    cert_path, key_path = folder / "collector-cert.pem", folder / "collector-key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "nt":
        # 0600 means nothing on Windows: the key would inherit the folder's ACL (Users
        # may read under %ProgramData%). Restrict the folder first; the key inherits it.
        from itaudit.fileaccess import restrict_to_owner

        problem = restrict_to_owner(folder)
        if problem:
            raise OSError(f"cannot restrict {folder} to its owner: {problem}")
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names or ["localhost"]:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, (names or ["localhost"])[0][:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "itaudit collector"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    server: CollectorServer
    server_version = f"itaudit/{__version__}"
    sys_version = ""
    timeout = SOCKET_TIMEOUT

    def _reply(
        self, status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _refuse(
        self, status: HTTPStatus, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        """Reply without using the request body, after reading a bounded amount of it.

        Closing a socket with unread data makes TCP send a reset, and the client
        would see "connection reset" instead of our reason.
        """
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) <= DRAIN_LIMIT:
            self.rfile.read(int(length))
        else:
            self.close_connection = True
        self._reply(status, body, headers)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line is the client's text: no escape codes into the officer's log.
        line = _UNPRINTABLE.sub("?", format % args)[:300]
        log.info("%s %s", self.client_address[0], line)

    def do_GET(self) -> None:
        if self.path == HEALTH_PATH:
            self._reply(HTTPStatus.OK, {"status": "ok", "version": __version__})
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"status": "error", "reason": "not found"})

    def do_PUT(self) -> None:
        self._refuse(HTTPStatus.METHOD_NOT_ALLOWED, {"status": "error", "reason": "use POST"})

    do_DELETE = do_PUT

    def do_POST(self) -> None:
        if self.path not in (REPORTS_PATH, BUNDLES_PATH):
            self._refuse(HTTPStatus.NOT_FOUND, {"status": "error", "reason": "not found"})
            return
        address = self.client_address[0]
        wait = self.server.gate.limiter.blocked_for(address)
        if wait:
            log.warning("%s rate-limited: too many refused attempts", address)
            self._refuse(
                HTTPStatus.TOO_MANY_REQUESTS,
                {
                    "status": "error",
                    "reason": f"too many refused attempts from {address}; retry in {int(wait)} s",
                },
                {"Retry-After": str(int(wait))},
            )
            return
        try:
            credential = self.server.gate.credential(self.headers.get("Authorization", ""))
        except ItauditError as exc:
            log.error("%s store failed: %s", address, exc)
            self._refuse(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {
                    "status": "error",
                    "reason": "the collector cannot store reports now; retry later",
                },
            )
            return
        if credential is None:
            self.server.gate.refused(address, None, "missing or wrong enrolment secret")
            self._refuse(
                HTTPStatus.UNAUTHORIZED, {"status": "error", "reason": "missing or wrong token"}
            )
            return
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self._refuse(
                HTTPStatus.LENGTH_REQUIRED, {"status": "error", "reason": "Content-Length required"}
            )
            return
        length = int(length_text)
        if length > self.server.config.max_bytes:
            self._refuse(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                {
                    "status": "rejected",
                    "reason": f"report is {length:,} bytes; the limit is {self.server.config.max_bytes:,}",
                },
            )
            return
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            self._reply(
                HTTPStatus.BAD_REQUEST,
                {"status": "error", "reason": f"body ended after {len(body)} of {length} bytes"},
            )
            return
        try:
            outcome = self.server.ingest(
                body, f"push:{address}", credential, address, bundle=self.path == BUNDLES_PATH
            )
        except ItauditError as exc:
            # The store failed, not the report: the agent should try again later.
            log.error("%s store failed: %s", self.client_address[0], exc)
            self._reply(
                HTTPStatus.SERVICE_UNAVAILABLE,
                {
                    "status": "error",
                    "reason": "the collector cannot store reports now; retry later",
                },
            )
            return
        status = {
            "accepted": HTTPStatus.CREATED,
            "duplicate": HTTPStatus.OK,
            "refused": HTTPStatus.FORBIDDEN,
        }.get(outcome.status, HTTPStatus.UNPROCESSABLE_ENTITY)
        self._reply(
            status,
            {
                "status": outcome.status,
                "reason": outcome.reason,
                "hostname": outcome.hostname,
                "current": outcome.current,
            },
        )


class CollectorServer(ThreadingHTTPServer):
    """Threaded HTTP(S) server; stores one report at a time (the store has one writer)."""

    daemon_threads = True
    # The default listen backlog (5) drops connections of a burst of agents (and
    # makes each wait a SYN retransmission, a second); the kernel caps it anyway.
    request_queue_size = 128

    def __init__(self, store: Store, register: RegisterIndex, config: ServerConfig):
        self.config = config
        self.ingestor = Ingestor(store, register, max_bytes=config.max_bytes)
        self.gate = Gate(store, config.token)
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._per_address: dict[str, int] = {}
        self._per_address_lock = threading.Lock()
        self.counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "refused": 0}
        self._tls: ssl.SSLContext | None = None
        if config.cert is not None and config.key is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
            try:
                self._tls.load_cert_chain(config.cert, config.key)
            except (ssl.SSLError, OSError) as exc:
                raise UsageError(
                    f"{config.cert}, {config.key}: cannot load the certificate and its key "
                    f"({getattr(exc, 'reason', None) or exc.strerror or exc})"
                ) from exc
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        self.address_family = family
        super().__init__((config.host, config.port), _Handler)

    def _take_address(self, address: str) -> bool:
        with self._per_address_lock:
            n = self._per_address.get(address, 0)
            if n >= MAX_PER_ADDRESS:
                return False
            self._per_address[address] = n + 1
            return True

    def _release_address(self, address: str) -> None:
        with self._per_address_lock:
            n = self._per_address.get(address, 1) - 1
            if n > 0:
                self._per_address[address] = n
            else:
                self._per_address.pop(address, None)

    def process_request(self, request: Any, client_address: Any) -> None:
        address = str(client_address[0])
        if not self._take_address(address):
            log.warning("%s refused: %d connections open from it", address, MAX_PER_ADDRESS)
            self.shutdown_request(request)
            return
        if not self._slots.acquire(blocking=False):
            self._release_address(address)
            log.warning("%s refused: %d connections already open", address, MAX_CONNECTIONS)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            self._release_address(address)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        # Past the deadline the socket is shut down under the reading thread, which
        # then ends with an error instead of waiting for the next trickled byte.
        watchdog = threading.Timer(
            REQUEST_DEADLINE + self.config.max_bytes / MIN_RATE, _cut, (request,)
        )
        watchdog.daemon = True
        watchdog.start()
        try:
            super().process_request_thread(request, client_address)
        finally:
            watchdog.cancel()
            self._slots.release()
            self._release_address(str(client_address[0]))

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the connection's own thread: done in
        # accept() it would let one silent client stall the whole server.
        request.settimeout(SOCKET_TIMEOUT)
        if self._tls is not None:
            try:
                request = self._tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                log.info("%s TLS handshake failed: %s", client_address[0], str(exc)[:200])
                return
        try:
            super().finish_request(request, client_address)
        finally:
            if self._tls is not None:
                request.close()

    @property
    def url(self) -> str:
        scheme = "https" if self.config.cert else "http"
        host, port = self.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"{scheme}://{host}:{port}"

    def ingest(
        self,
        body: bytes,
        source: str,
        credential: Credential | None = None,
        address: str = "",
        bundle: bool = False,
    ) -> Any:
        """Check the pushed report against the gate, then store it as ingest would."""
        credential = credential or Credential("open")
        with self._lock:
            outcome = self._ingest(body, clean_text(source), credential, address, bundle)
        self.counts[outcome.status] += 1
        log.info(
            "%s %s %s %s", source, outcome.status, outcome.hostname or "-", outcome.reason[:200]
        )
        return outcome

    def _ingest(
        self, body: bytes, source: str, credential: Credential, address: str, bundle: bool
    ) -> FileOutcome:
        if bundle:
            try:
                body = bundle_report(body, credential.unit, self.config.catalog_files)
            except (Rejected, *_FILE_ERRORS) as exc:
                summary = self.ingestor.run([Source(source, partial(_raise, exc), len(body))])
                return summary.outcomes[0]
        item = Source(source, partial(io.BytesIO, body), len(body))
        try:
            prepared = self.ingestor.prepare(item)
        except (Rejected, OSError, *_FILE_ERRORS):
            # Ingest rejects it again, with the same reason, and records the rejection.
            return self.ingestor.run([item]).outcomes[0]
        fingerprint = prepared.signer.fingerprint if prepared.signer is not None else None
        refusal = self.gate.check(prepared.document, fingerprint, credential)
        hostname = str(prepared.document["identity"]["hostname"])
        if refusal is not None:
            self.gate.refused(address, hostname, refusal)
            return FileOutcome(source, "refused", refusal, hostname)
        outcome = self.ingestor._store_batch([(None, prepared, source)])[0]
        if outcome.status == "accepted":
            self.gate.enrolled(prepared.document, credential, address)
        return outcome


def _raise(exc: BaseException) -> Any:
    raise exc


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def token_digest(token: str) -> str:
    """What the CLI prints instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]
