"""A tiny S3 server for tests: path-style PUT/GET/HEAD/DELETE object, AWS SigV4 checked the way
S3 does it (its own implementation, independent of ``documents.storage``): credential scope,
signed headers (host, x-amz-date, x-amz-content-sha256 required), payload hash matches the
body, request time within 15 minutes; errors as S3 XML (``SignatureDoesNotMatch``,
``InvalidAccessKeyId``, ``XAmzContentSHA256Mismatch``, ``RequestTimeTooSkewed``,
``NoSuchKey``, ``NoSuchBucket``)."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Tuple

_AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
                   r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


def _sign(secret: str, date: str, region: str, string_to_sign: str) -> str:
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, b"s3", hashlib.sha256).digest()
    k = hmac.new(k, b"aws4_request", hashlib.sha256).digest()
    return hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()


class FakeS3:
    def __init__(self, access_key: str = "AKIDEXAMPLE", secret_key: str = "secret/EXAMPLEKEY",
                 region: str = "cn-north-1", bucket: str = "docs") -> None:
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.buckets: Dict[str, Dict[str, Tuple[bytes, Dict[str, str]]]] = {bucket: {}}
        self.rejected: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a) -> None:  # quiet
                pass

            def _reply(self, status: int, body: bytes = b"", headers: Dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _error(self, status: int, code: str) -> None:
                fake.rejected.append(code)
                self._reply(status, f"<?xml version=\"1.0\"?><Error><Code>{code}</Code></Error>".encode(),
                            {"Content-Type": "application/xml"})

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                err = fake.check_auth(self.command, self.path, self.headers, body)
                if err:
                    return self._error(403 if err != "XAmzContentSHA256Mismatch" else 400, err)
                parts = urllib.parse.urlsplit(self.path)
                bucket, _, key = urllib.parse.unquote(parts.path).lstrip("/").partition("/")
                objects = fake.buckets.get(bucket)
                if objects is None:
                    return self._error(404, "NoSuchBucket")
                if self.command == "PUT":
                    meta = {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-amz-meta-")}
                    objects[key] = (body, meta)
                    return self._reply(200, b"", {"ETag": '"%s"' % hashlib.md5(body).hexdigest()})
                if self.command == "DELETE" and key not in objects:
                    return self._reply(204)  # S3 deletes a missing key successfully
                if key not in objects:
                    return self._error(404, "NoSuchKey")
                data, meta = objects[key]
                if self.command == "DELETE":
                    del objects[key]
                    return self._reply(204)
                headers = dict(meta)
                headers["Content-Type"] = "application/octet-stream"
                if self.command == "HEAD":
                    self.send_response(200)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    return None
                return self._reply(200, data, headers)

            do_GET = do_PUT = do_HEAD = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def check_auth(self, method: str, raw_path: str, headers, body: bytes) -> str:
        m = _AUTH.match(headers.get("Authorization", ""))
        if not m:
            return "AccessDenied"
        key, date, region, signed, signature = m.groups()
        if key != self.access_key:
            return "InvalidAccessKeyId"
        signed_list = signed.split(";")
        if not {"host", "x-amz-date", "x-amz-content-sha256"} <= set(signed_list):
            return "AccessDenied"
        amz_date = headers.get("x-amz-date", "")
        try:
            t = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        except ValueError:
            return "AccessDenied"
        if abs((dt.datetime.now(dt.timezone.utc) - t).total_seconds()) > 900:
            return "RequestTimeTooSkewed"
        if date != amz_date[:8] or region != self.region:
            return "SignatureDoesNotMatch"
        payload = headers.get("x-amz-content-sha256", "")
        if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
            return "XAmzContentSHA256Mismatch"
        parts = urllib.parse.urlsplit(raw_path)
        query = "&".join(
            f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
            for k, v in sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True)))
        canon_headers = ""
        for h in signed_list:
            v = headers.get(h)
            if v is None:
                return "SignatureDoesNotMatch"
            canon_headers += f"{h}:{' '.join(v.strip().split())}\n"
        canonical = "\n".join([method, parts.path, query, canon_headers, signed, payload])
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, f"{date}/{region}/s3/aws4_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
        if not hmac.compare_digest(_sign(self.secret_key, date, region, sts), signature):
            return "SignatureDoesNotMatch"
        return ""

    def __enter__(self) -> "FakeS3":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
