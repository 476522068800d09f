"""A small internal RFC 3161 time-stamp authority (RSA/SHA-256 or SM2/SM3).

In process: ``TimeStampAuthority.from_identity(identity).respond(request_der) -> response_der``.
Over HTTP (stdlib only): ``serve_in_thread(tsa)`` or
``python -m sign.tsa --port 8318 --key tsa.key --cert tsa.pem [--chain chain.pem]``.
"""
from __future__ import annotations

import argparse
import http.server
import itertools
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from asn1crypto import algos, cms, core, tsp, x509

from sign.certs import oids  # noqa: F401
from sign.certs.identity import Identity
from sign.certs.keys import Signer, as_signer, digest_algorithm_name, signature_algorithm
from sign.timestamps import DIGEST_SIZES, TimeStampResponse, QUERY_CONTENT_TYPE, REPLY_CONTENT_TYPE, hash_data

# Placeholder policy OID for the internal TSA; configure a registered one in production.
DEFAULT_POLICY_OID = "1.3.6.1.4.1.59999.3161.1"
MAX_REQUEST_BYTES = 64 * 1024


class _Rejection(Exception):
    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info


class TimeStampAuthority:
    """Builds signed TimeStampResp messages (TSTInfo in CMS SignedData)."""

    def __init__(self, key: Any, cert: x509.Certificate, chain: Sequence[x509.Certificate] = (), *,
                 policy_oid: str = DEFAULT_POLICY_OID, accuracy_seconds: int = 1,
                 clock: Callable[[], datetime] | None = None,
                 hash_algs: Iterable[str] = tuple(DIGEST_SIZES)) -> None:
        self.signer: Signer = as_signer(key)
        self.cert = cert
        self.chain = list(chain)
        self.policy_oid = policy_oid
        self.accuracy_seconds = accuracy_seconds
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.hash_algs = frozenset(hash_algs)
        self._serials = itertools.count(1)
        self._serial_prefix = secrets.randbits(32) << 32
        self._lock = threading.Lock()

    @classmethod
    def from_identity(cls, identity: Identity, **kwargs: Any) -> "TimeStampAuthority":
        return cls(identity.key, identity.cert, identity.chain, **kwargs)

    @property
    def digest_algorithm(self) -> str:
        """``sha256`` for RSA/ECDSA keys, ``sm3`` for SM2."""
        return digest_algorithm_name(self.signer.family)

    # ---- protocol ---------------------------------------------------------------------------
    def respond(self, request_der: bytes) -> bytes:
        """DER TimeStampReq in, DER TimeStampResp out (a rejection for bad requests, never raises)."""
        try:
            request = self._parse(request_der)
            token = self.stamp(request)
        except _Rejection as rej:
            return _rejection(rej.fail_info, str(rej)).dump()
        resp = TimeStampResponse({"status": {"status": "granted"}, "time_stamp_token": token})
        return resp.dump()

    def _parse(self, request_der: bytes) -> tsp.TimeStampReq:
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            request.native
        except Exception as exc:
            raise _Rejection("bad_data_format", f"malformed TimeStampReq: {exc}") from exc
        imprint = request["message_imprint"]
        alg = imprint["hash_algorithm"]["algorithm"].native
        if alg not in self.hash_algs:
            raise _Rejection("bad_alg", f"unsupported hash algorithm {alg}")
        if len(imprint["hashed_message"].native) != DIGEST_SIZES[alg]:
            raise _Rejection("bad_data_format", "digest length does not match the hash algorithm")
        policy = request["req_policy"]
        if policy.native is not None and policy.dotted != self.policy_oid:
            raise _Rejection("unaccepted_policy", f"policy {policy.dotted} not offered")
        if request["extensions"].native:
            raise _Rejection("unaccepted_extension", "request extensions are not supported")
        return request

    def stamp(self, request: tsp.TimeStampReq) -> cms.ContentInfo:
        """The signed time-stamp token (ContentInfo) for a parsed, accepted request."""
        info = self._tst_info(request)
        return self._sign(info, include_certs=bool(request["cert_req"].native))

    def _next_serial(self) -> int:
        with self._lock:
            return self._serial_prefix | next(self._serials)

    def _tst_info(self, request: tsp.TimeStampReq) -> tsp.TSTInfo:
        fields: dict[str, object] = {
            "version": "v1",
            "policy": self.policy_oid,
            "message_imprint": request["message_imprint"],
            "serial_number": self._next_serial(),
            "gen_time": self.clock().astimezone(timezone.utc).replace(microsecond=0),
            "accuracy": {"seconds": self.accuracy_seconds},
            "tsa": x509.GeneralName(name="directory_name", value=self.cert.subject),
        }
        if request["nonce"].native is not None:
            fields["nonce"] = request["nonce"].native
        return tsp.TSTInfo(fields)

    def _sign(self, info: tsp.TSTInfo, include_certs: bool) -> cms.ContentInfo:
        digest_alg = self.digest_algorithm
        content = info.dump()
        attrs = cms.CMSAttributes([
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": info["gen_time"].native})]}),
            cms.CMSAttribute({"type": "message_digest", "values": [hash_data(digest_alg, content)]}),
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [self._ess_cert_id(digest_alg)]}),
        ])
        signer_info = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": self.cert.issuer, "serial_number": self.cert.serial_number}}),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest_alg}),
            "signed_attrs": attrs,
            "signature_algorithm": signature_algorithm(self.signer.family),
            "signature": self.signer.sign(attrs.dump()),
        })
        signed_data: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest_alg})],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(content)},
            "signer_infos": [signer_info],
        }
        if include_certs:
            signed_data["certificates"] = [self.cert, *self.chain]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})

    def _ess_cert_id(self, digest_alg: str) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2({"certs": [{
            "hash_algorithm": {"algorithm": digest_alg},
            "cert_hash": hash_data(digest_alg, self.cert.dump()),
            "issuer_serial": {
                "issuer": [x509.GeneralName(name="directory_name", value=self.cert.issuer)],
                "serial_number": self.cert.serial_number,
            },
        }]})


def _rejection(fail_info: str, text: str) -> TimeStampResponse:
    return TimeStampResponse({"status": {
        "status": "rejection", "status_string": [text[:200]], "fail_info": {fail_info}}})


# ---- HTTP -------------------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    server: "_TSAHTTPServer"
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (stdlib naming)
        length = int(self.headers.get("Content-Length") or 0)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != QUERY_CONTENT_TYPE:
            self._send(415, b"expected application/timestamp-query", "text/plain")
            return
        if not 0 < length <= MAX_REQUEST_BYTES:
            self._send(413, b"bad request length", "text/plain")
            return
        self._send(200, self.server.tsa.respond(self.rfile.read(length)), REPLY_CONTENT_TYPE)

    def do_GET(self) -> None:  # noqa: N802
        self._send(405, b"POST an RFC 3161 request", "text/plain")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return


class _TSAHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], tsa: TimeStampAuthority) -> None:
        super().__init__(address, _Handler)
        self.tsa = tsa


@dataclass
class TSAServer:
    """A running HTTP TSA; ``url`` to POST to, ``close()`` to stop it."""

    httpd: _TSAHTTPServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> "TSAServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_in_thread(tsa: TimeStampAuthority, host: str = "127.0.0.1", port: int = 0) -> TSAServer:
    """Start the HTTP TSA in a daemon thread (``port=0``: a free port)."""
    httpd = _TSAHTTPServer((host, port), tsa)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="tsa-http",
                              daemon=True)
    thread.start()
    return TSAServer(httpd, thread)


def main(argv: Sequence[str] | None = None) -> None:
    from sign.certs.pem import read_certificates, read_private_key

    parser = argparse.ArgumentParser(prog="python -m sign.tsa", description="Internal RFC 3161 TSA")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8318)
    parser.add_argument("--key", required=True, help="PEM private key (RSA, ECDSA or SM2)")
    parser.add_argument("--key-password", default=None)
    parser.add_argument("--cert", required=True, help="PEM TSA certificate")
    parser.add_argument("--chain", default=None, help="PEM issuing CA / root certificates")
    parser.add_argument("--policy", default=DEFAULT_POLICY_OID)
    args = parser.parse_args(argv)
    key = read_private_key(args.key, args.key_password.encode() if args.key_password else None)
    chain = read_certificates(args.chain) if args.chain else []
    tsa = TimeStampAuthority(key, read_certificates(args.cert)[0], chain, policy_oid=args.policy)
    httpd = _TSAHTTPServer((args.host, args.port), tsa)
    print(f"TSA listening on http://{args.host}:{httpd.server_address[1]}/", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main()
