"""Backup and disaster recovery [备份与容灾]: ``python -m backend.ops backup|verify|restore DIR``.

A backup set is a directory holding:

* ``database.enc``: ``pg_dump --format=custom`` of the primary (or an SQLite online-backup copy),
  taken in an exported snapshot: the row counts and the audit-chain head in the manifest are
  read in that same snapshot;
* ``files.enc``: a tar of the stored files: the ``DATA_DIR/files`` directory as it is; with an
  ``s3://`` STORAGE_URL, every blob the database snapshot refers to (documents, revisions,
  template PDFs), read through the file store (so decrypted) and written back through it on
  restore (so re-encrypted under the target's settings);
* ``keys.enc``: a tar of the key store ``DATA_DIR/pki`` (platform CAs, seal-making key, company
  keys; already SM4-wrapped under the first data key);
* ``manifest.json``: format, time, database dialect, row counts per table, audit head, and per
  part its size and SHA-256 before and after encryption; authenticated with HMAC-SM3.

Consistency: the database is read first, in one snapshot; files are content-addressed and keys
are created before the rows that name them, so copies taken after the snapshot hold everything
the snapshot refers to (and possibly a little more, which is harmless).

Encryption: each part is cut into 1 MiB chunks, each sealed with SM4-GCM under the backup key
(``BACKUP_KEY``, else derived from the first data key with HMAC-SM3), a fresh random nonce, and
the part name, chunk number and a last-chunk flag as associated data (so chunks cannot be
reordered, swapped between parts, or cut off). Restoring needs the backup key, and the same
``DATA_KEYS`` (the key store and the encrypted columns are under them).

``restore`` refuses a target that is not empty (database tables with rows, or existing
``DATA_DIR/files`` / ``DATA_DIR/pki``) unless ``--force``, which wipes it first. It then checks
the row counts and the audit chain (``backend.audit.verify_chain``) against the manifest.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import io
import json
import os
import pathlib
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
from collections.abc import Iterator
from typing import Any, BinaryIO

from backend.settings import Settings
from sign.crypto.errors import DecryptionError
from sign.crypto.sm3 import hmac_sm3
from sign.crypto.sm4 import sm4_gcm_decrypt, sm4_gcm_encrypt

FORMAT = "esign-backup/1"
MAGIC = b"ESBK1\n"
CHUNK = 1 << 20
PARTS = ("database", "files", "keys")
#: Columns holding file-store addresses (sha256), read in the snapshot for object storage.
BLOB_COLUMNS = {"document": ("current_sha256", "original_sha256"),
                "document_revision": ("sha256",), "template_version": ("pdf_sha256",)}
LIBPQ_PARAMS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout",
                "application_name", "options", "target_session_attrs"}


class BackupError(Exception):
    """A backup set is missing, damaged, forged, or the key is wrong; or the target not empty."""


# ----------------------------------------------------------------------------- keys and crypto
def backup_key(settings: Settings) -> bytes:
    if settings.backup_key:
        return bytes.fromhex(settings.backup_key)
    return hmac_sm3(settings.resolved_data_keys()[0][1], b"esign backup key v1")[:16]


def key_id(key: bytes) -> str:
    """A public fingerprint of the backup key (tells 'wrong key' from 'damaged')."""
    return hmac_sm3(key, b"esign backup key id").hex()[:16]


def _aad(part: str, index: int, last: bool) -> bytes:
    return f"{FORMAT}|{part}|{index}|{int(last)}".encode()


def encrypt_stream(key: bytes, part: str, source: BinaryIO, target: BinaryIO) -> dict[str, Any]:
    """Encrypt ``source`` into ``target`` chunk by chunk; returns sizes and SHA-256s."""
    plain, sealed = hashlib.sha256(), hashlib.sha256()
    size = 0

    def write(data: bytes) -> None:
        sealed.update(data)
        target.write(data)

    write(MAGIC)
    index, chunk = 0, source.read(CHUNK)
    while True:
        following = source.read(CHUNK) if chunk else b""
        last = not following
        plain.update(chunk)
        size += len(chunk)
        nonce = os.urandom(12)
        box = sm4_gcm_encrypt(key, nonce, chunk, _aad(part, index, last))
        write(len(box).to_bytes(4, "big") + nonce + box)
        if last:
            break
        index, chunk = index + 1, following
    return {"size": size, "sha256": plain.hexdigest(), "encrypted_sha256": sealed.hexdigest()}


def decrypt_chunks(key: bytes, part: str, source: BinaryIO) -> Iterator[bytes]:
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError(f"{part}: not a backup part")
    index = 0
    while True:
        head = source.read(4)
        if not head:
            raise BackupError(f"{part}: truncated (no last chunk)")
        length = int.from_bytes(head, "big")
        nonce, box = source.read(12), source.read(length)
        if len(nonce) != 12 or len(box) != length:
            raise BackupError(f"{part}: truncated chunk {index}")
        last = source.peek(1) == b"" if hasattr(source, "peek") else False
        try:
            yield sm4_gcm_decrypt(key, nonce, box, _aad(part, index, last))
        except DecryptionError:
            raise BackupError(f"{part}: chunk {index} does not decrypt (damaged or reordered)") \
                from None
        if last:
            return
        index += 1


def _manifest_mac(key: bytes, manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return hmac_sm3(key, json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hex()


# ----------------------------------------------------------------------------- database
def libpq_url(url: str) -> str:
    """DATABASE_URL as pg_dump/pg_restore understand it (asyncpg-only parameters dropped)."""
    url = url.replace("asyncpg://", "postgresql://", 1).replace("postgres://", "postgresql://", 1)
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k in LIBPQ_PARAMS]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def dialect(settings: Settings) -> str:
    return "sqlite" if settings.database_url.startswith("sqlite://") else "postgres"


def sqlite_path(settings: Settings) -> pathlib.Path:
    from backend.db import _connection

    return pathlib.Path(str(_connection(settings.database_url, settings))[len("sqlite://"):])


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {done.stderr.strip()[-2000:]}")


async def _pg_snapshot_dump(settings: Settings, out: pathlib.Path) -> dict[str, Any]:
    """pg_dump inside an exported snapshot; counts and audit head read in the same snapshot."""
    import asyncpg

    conn = await asyncpg.connect(libpq_url(settings.database_url))
    try:
        tx = conn.transaction(isolation="repeatable_read", readonly=True)
        await tx.start()
        try:
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            tables = [r["tablename"] for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
            counts = {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
            head = await conn.fetchrow("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1") \
                if "audit_entry" in tables else None
            blobs = {r[0] for sql in _blob_queries(tables) for r in await conn.fetch(sql)}
            await asyncio.to_thread(_run, ["pg_dump", "--format=custom", "--no-owner",
                                           "--no-privileges", f"--snapshot={snapshot}",
                                           "--file", str(out), libpq_url(settings.database_url)])
        finally:
            await tx.rollback()
    finally:
        await conn.close()
    return {"counts": counts, "audit_head": dict(head) if head else None,
            "blobs": sorted(b for b in blobs if b)}


def _blob_queries(tables: list[str]) -> list[str]:
    return [f'SELECT DISTINCT "{col}" FROM "{table}"' for table, cols in BLOB_COLUMNS.items()
            if table in tables for col in cols]


def _sqlite_dump(settings: Settings, out: pathlib.Path) -> dict[str, Any]:
    src = sqlite3.connect(sqlite_path(settings))
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)
    finally:
        src.close()
    try:
        tables = [r[0] for r in dst.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        counts = {t: dst.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        row = dst.execute("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1").fetchone() \
            if "audit_entry" in tables else None
        blobs = {r[0] for sql in _blob_queries(tables) for r in dst.execute(sql)}
    finally:
        dst.close()
    return {"counts": counts, "audit_head": {"seq": row[0], "hash": row[1]} if row else None,
            "blobs": sorted(b for b in blobs if b)}


async def current_counts(settings: Settings) -> dict[str, int]:
    """Rows per table of the configured database (empty dict: no tables)."""
    if dialect(settings) == "sqlite":
        path = sqlite_path(settings)
        if not path.exists():
            return {}
        conn = sqlite3.connect(path)
        try:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
            return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        finally:
            conn.close()
    import asyncpg

    conn = await asyncpg.connect(libpq_url(settings.database_url))
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
    finally:
        await conn.close()


# ----------------------------------------------------------------------------- files and keys
def files_dir(settings: Settings) -> pathlib.Path | None:
    """The local file store, or None when files live in object storage (s3://)."""
    url = settings.storage_url
    if url.startswith("s3://"):
        return None
    if url.startswith("file://"):  # as backend.services.file_store.build_storage reads it
        parts = urllib.parse.urlsplit(url)
        return pathlib.Path(urllib.parse.unquote(parts.netloc + parts.path))
    return settings.data_path / "files"


def keys_dir(settings: Settings) -> pathlib.Path:
    return settings.data_path / "pki"


def _tar(directory: pathlib.Path | None, out: pathlib.Path) -> None:
    with tarfile.open(out, "w") as tar:
        if directory is not None and directory.is_dir():
            for path in sorted(directory.rglob("*")):
                if path.name != ".lock":
                    tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)


def _tar_blobs(settings: Settings, blobs: list[str], out: pathlib.Path) -> None:
    """The referenced blobs from object storage, as ``<sha256>`` members (content verified by
    the store against its address)."""
    from backend.services.file_store import build_storage

    store = build_storage(settings)
    try:
        with tarfile.open(out, "w") as tar:
            for digest in blobs:
                data = store.get(digest)
                info = tarfile.TarInfo(digest)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    finally:
        if hasattr(store, "close"):
            store.close()


def _put_blobs(settings: Settings, data: pathlib.Path) -> int:
    from backend.services.file_store import build_storage

    store = build_storage(settings)
    count = 0
    try:
        with tarfile.open(data) as tar:
            for member in tar:
                blob = tar.extractfile(member).read()
                if store.put(blob).sha256 != member.name:
                    raise BackupError(f"files: blob {member.name} does not match its address")
                count += 1
    finally:
        if hasattr(store, "close"):
            store.close()
    return count


def _untar(data: pathlib.Path, directory: pathlib.Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(data) as tar:
        tar.extractall(directory, filter="data")


# ----------------------------------------------------------------------------- commands
async def backup(settings: Settings, target: pathlib.Path) -> dict[str, Any]:
    target = pathlib.Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty")
    target.mkdir(parents=True, exist_ok=True)
    key = backup_key(settings)
    manifest: dict[str, Any] = {
        "format": FORMAT, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "dialect": dialect(settings), "key_id": key_id(key), "parts": {}}
    with tempfile.TemporaryDirectory(prefix="esign-backup-") as tmp:
        work = pathlib.Path(tmp)
        db_file = work / "database"
        if manifest["dialect"] == "postgres":
            manifest.update(await _pg_snapshot_dump(settings, db_file))
        else:
            manifest.update(await asyncio.to_thread(_sqlite_dump, settings, db_file))
        files = files_dir(settings)
        blobs = manifest.pop("blobs")  # addresses stay out of the clear-text manifest
        manifest["files_source"] = "blobs" if files is None else "directory"
        if files is None:
            manifest["blob_count"] = len(blobs)
            await asyncio.to_thread(_tar_blobs, settings, blobs, work / "files")
        else:
            _tar(files, work / "files")
        _tar(keys_dir(settings), work / "keys")
        for part in PARTS:
            with open(work / part, "rb") as src, open(target / f"{part}.enc", "wb") as dst:
                manifest["parts"][part] = await asyncio.to_thread(encrypt_stream, key, part, src, dst)
    manifest["mac"] = _manifest_mac(key, manifest)
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    return manifest


def read_manifest(settings: Settings, source: pathlib.Path) -> tuple[dict[str, Any], bytes]:
    path = pathlib.Path(source) / "manifest.json"
    if not path.exists():
        raise BackupError(f"{source}: no manifest.json")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    key = backup_key(settings)
    if manifest.get("key_id") != key_id(key):
        raise BackupError("wrong backup key (BACKUP_KEY / DATA_KEYS differ from the backup's)")
    if not hmac.compare_digest(manifest.get("mac", ""), _manifest_mac(key, manifest)):
        raise BackupError("manifest.json was altered (authentication failed)")
    return manifest, key


def _decrypt_part(key: bytes, source: pathlib.Path, part: str, expected: dict[str, Any],
                  out: BinaryIO | None) -> None:
    path = pathlib.Path(source) / f"{part}.enc"
    if not path.exists():
        raise BackupError(f"{part}: {path.name} is missing")
    sealed = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            sealed.update(block)
    if sealed.hexdigest() != expected["encrypted_sha256"]:
        raise BackupError(f"{part}: checksum mismatch ({path.name} was altered)")
    plain, size = hashlib.sha256(), 0
    with open(path, "rb", buffering=CHUNK) as fh:
        for chunk in decrypt_chunks(key, part, fh):
            plain.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
    if plain.hexdigest() != expected["sha256"] or size != expected["size"]:
        raise BackupError(f"{part}: decrypted content does not match the manifest")


def verify(settings: Settings, source: pathlib.Path) -> dict[str, Any]:
    """Check the manifest's authenticity, every part's checksum, and that every chunk decrypts."""
    manifest, key = read_manifest(settings, source)
    for part in PARTS:
        _decrypt_part(key, source, part, manifest["parts"][part], None)
    return {"ok": True, "created_at": manifest["created_at"], "dialect": manifest["dialect"],
            "parts": {p: manifest["parts"][p]["size"] for p in PARTS},
            "rows": sum(manifest["counts"].values())}


async def is_empty(settings: Settings) -> tuple[bool, str]:
    counts = await current_counts(settings)
    filled = sorted(t for t, n in counts.items() if n and t not in ("tortoise_migrations",))
    if filled:
        return False, f"database has rows in {', '.join(filled[:5])}"
    for name, path in (("files", files_dir(settings)), ("keys", keys_dir(settings))):
        if path is not None and path.is_dir() and any(p.name != ".lock" for p in path.iterdir()):
            return False, f"{path} ({name}) is not empty"
    return True, ""


async def _wipe(settings: Settings) -> None:
    if dialect(settings) == "sqlite":
        sqlite_path(settings).unlink(missing_ok=True)
    else:
        import asyncpg

        conn = await asyncpg.connect(libpq_url(settings.database_url))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()
    for path in (files_dir(settings), keys_dir(settings)):
        if path is not None and path.exists():
            shutil.rmtree(path)


async def restore(settings: Settings, source: pathlib.Path, *, force: bool = False) -> dict[str, Any]:
    source = pathlib.Path(source)
    manifest, key = read_manifest(settings, source)
    if manifest["dialect"] != dialect(settings):
        raise BackupError(f"the backup is of a {manifest['dialect']} database, "
                          f"DATABASE_URL is {dialect(settings)}")
    if manifest.get("files_source") != "blobs" and files_dir(settings) is None:
        raise BackupError("this backup holds a files directory; restore it with a local "
                          "STORAGE_URL, then copy the files into object storage")
    empty, why = await is_empty(settings)
    if not empty and not force:
        raise BackupError(f"the target is not empty: {why} (use --force to replace it)")
    with tempfile.TemporaryDirectory(prefix="esign-restore-") as tmp:
        work = pathlib.Path(tmp)
        for part in PARTS:  # everything is checked before anything is replaced
            with open(work / part, "wb") as out:
                await asyncio.to_thread(_decrypt_part, key, source, part,
                                        manifest["parts"][part], out)
        await _wipe(settings)
        if manifest["dialect"] == "postgres":
            await asyncio.to_thread(_run, ["pg_restore", "--no-owner", "--no-privileges",
                                           "--exit-on-error", "--single-transaction",
                                           "--dbname", libpq_url(settings.database_url),
                                           str(work / "database")])
        else:
            target = sqlite_path(settings)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / "database", target)
        files = files_dir(settings)
        if manifest.get("files_source") == "blobs":  # into the target's store, local or s3
            await asyncio.to_thread(_put_blobs, settings, work / "files")
        else:
            _untar(work / "files", files)
        _untar(work / "keys", keys_dir(settings))
    return await check_restored(settings, manifest)


async def check_restored(settings: Settings, manifest: dict[str, Any]) -> dict[str, Any]:
    from backend import audit, db

    counts = await current_counts(settings)
    mismatched = {t: {"backup": n, "restored": counts.get(t)}
                  for t, n in manifest["counts"].items() if counts.get(t) != n}
    await db.init_db(settings)
    try:
        chain = await audit.verify_chain()
    finally:
        await db.close_db()
    head = manifest.get("audit_head")
    head_ok = head is None or chain.entries == head["seq"]
    return {"ok": chain.ok and not mismatched and head_ok, "rows": sum(counts.values()),
            "tables_mismatched": mismatched, "audit_chain": chain.to_dict(),
            "audit_head_matches": head_ok, "backup_created_at": manifest["created_at"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.ops",
                                     description="backup, verify and restore (see README, Operations)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("backup", help="write an encrypted backup set into an empty DIR").add_argument("dir")
    sub.add_parser("verify", help="check a backup set's checksums and that it decrypts").add_argument("dir")
    rest = sub.add_parser("restore", help="restore a backup set onto an empty system")
    rest.add_argument("dir")
    rest.add_argument("--force", action="store_true", help="wipe a non-empty target first")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "backup":
            manifest = asyncio.run(backup(settings, pathlib.Path(args.dir)))
            report = {"ok": True, "dir": args.dir, "rows": sum(manifest["counts"].values()),
                      "parts": {p: v["size"] for p, v in manifest["parts"].items()}}
        elif args.command == "verify":
            report = verify(settings, pathlib.Path(args.dir))
        else:
            report = asyncio.run(restore(settings, pathlib.Path(args.dir), force=args.force))
    except BackupError as exc:
        print(json.dumps({"ok": False, "error": str(exc)}, ensure_ascii=False))
        return 1
    print(json.dumps(report, ensure_ascii=False, default=str))
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
