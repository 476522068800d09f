"""The file store behind ``runtime.storage()``: STORAGE_URL → ``documents.storage`` backend, and
async helpers that keep blocking file/S3 I/O and PDF work off the event loop.

* ``file://`` (default ``DATA_DIR/files``): ``LocalStorage``;
* ``s3://bucket?endpoint=https://minio:9000&region=cn-north-1&prefix=esign/``: ``S3Storage``
  with ``S3_ACCESS_KEY`` / ``S3_SECRET_KEY``;
* ``STORAGE_FSYNC`` (default true): local files are on disk before a write returns;
* ``STORAGE_ENCRYPT=true``: SM4-GCM at rest (``Sm4GcmCipher``) with a key derived from the
  first data key by HMAC-SM3 (rotating DATA_KEYS keeps the first key's derived key: old blobs
  stay readable while that key is listed first).

Errors of the document engine (``documents.errors.DocumentError``) become ``AppError`` with the
same code, status and details (``app_error``).
"""
from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from backend.errors import AppError
from backend.settings import Settings, SettingsError
from documents.errors import DocumentError
from documents.storage import BlobRef, LocalStorage, S3Storage, Sm4GcmCipher, Storage
from sign.crypto.sm3 import hmac_sm3

T = TypeVar("T")


def storage_cipher(settings: Settings) -> Sm4GcmCipher:
    key = hmac_sm3(settings.resolved_data_keys()[0][1], b"file-store-at-rest")[:16]
    return Sm4GcmCipher(key, key_id=1)


def build_storage(settings: Settings) -> Storage:
    cipher = storage_cipher(settings) if settings.storage_encrypt else None
    url = settings.storage_url or ""
    if not url:
        return LocalStorage(settings.data_path / "files", cipher=cipher,
                            durable=settings.storage_fsync)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return LocalStorage(urllib.parse.unquote(parts.netloc + parts.path), cipher=cipher,
                            durable=settings.storage_fsync)
    if parts.scheme == "s3":
        query = dict(urllib.parse.parse_qsl(parts.query))
        if not parts.netloc or not query.get("endpoint"):
            raise SettingsError("STORAGE_URL s3://bucket?endpoint=... needs a bucket and endpoint")
        return S3Storage(endpoint=query["endpoint"], bucket=parts.netloc,
                         access_key=settings.s3_access_key, secret_key=settings.s3_secret_key,
                         region=query.get("region", "us-east-1"), prefix=query.get("prefix", ""),
                         cipher=cipher)
    raise SettingsError("STORAGE_URL must be file://... or s3://...")


def app_error(exc: DocumentError) -> AppError:
    error = AppError(exc.message, code=exc.code, details=exc.details or None)
    error.status = exc.http_status
    return error


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking document/storage work in a thread; engine errors become AppError."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except DocumentError as exc:
        raise app_error(exc) from None


async def put(runtime, data: bytes) -> BlobRef:
    return await run(runtime.storage().put, data)


async def get(runtime, sha256: str) -> bytes:
    return await run(runtime.storage().get, sha256)
