"""Content-addressed storage: local, encrypted at rest, S3 (SigV4 checked by a fake server)."""
from __future__ import annotations

import hashlib
import os

import pytest

from documents.errors import StorageError
from documents.storage import AesGcmCipher, BlobRef, LocalStorage, S3Storage, Sm4GcmCipher
from sign.crypto.sm3 import sm3_hexdigest

from .fake_s3 import FakeS3

DATA = "电子保单 PDEA202611250001 保险金额：10000元".encode() * 50


def check_roundtrip(store) -> BlobRef:
    ref = store.put(DATA)
    assert ref.sha256 == hashlib.sha256(DATA).hexdigest()
    assert ref.sm3 == sm3_hexdigest(DATA) and ref.size == len(DATA)
    assert str(ref) == f"sha256:{ref.sha256}"
    assert store.exists(ref) and store.exists(str(ref))
    assert store.get(ref) == DATA and store.get(str(ref)) == DATA and store.get(ref.sha256) == DATA
    assert store.put(DATA) == ref                      # idempotent, deduplicated
    assert store.meta(ref) == ref                      # SM3 and size recorded
    other = store.put(b"another")
    assert other != ref and store.get(other) == b"another"
    assert store.delete(other) is True and not store.exists(other)
    assert store.delete(other) is False
    with pytest.raises(StorageError) as ei:
        store.get(other)
    assert ei.value.code == "BLOB_NOT_FOUND"
    with pytest.raises(StorageError) as ei:
        store.get("sha256:xyz")
    assert ei.value.code == "BLOB_REF_INVALID"
    return ref


def fsynced_files(monkeypatch) -> list[str]:
    """Records what each ``os.fsync`` call flushes (the stdlib call still runs)."""
    flushed: list[str] = []
    real = os.fsync

    def fsync(fd):
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return flushed


def test_a_local_write_is_on_disk_before_put_returns(tmp_path, monkeypatch):
    flushed = fsynced_files(monkeypatch)
    store = LocalStorage(tmp_path / "blobs")
    ref = store.put(DATA)
    folder = str((tmp_path / "blobs" / ref.key).parent)
    # the blob and its meta file, each fsynced as its temp file before the rename, then the
    # folder holding both new names
    assert len(flushed) == 3 and flushed[-1] == folder
    assert all(os.path.dirname(f) == folder and ".tmp-" in f for f in flushed[:2])
    assert store.put(DATA) == ref and len(flushed) == 3  # already stored: nothing written
    assert not [p for p in os.listdir(folder) if p.startswith(".tmp-")]


def test_durable_off_skips_the_fsyncs(tmp_path, monkeypatch):
    flushed = fsynced_files(monkeypatch)
    store = LocalStorage(tmp_path / "blobs", durable=False)
    assert store.get(store.put(DATA)) == DATA and flushed == []


def file_system_calls(monkeypatch, root) -> list[str]:
    """Records, in order, each opening of ``root`` (what ``syncfs`` needs) and each rename."""
    calls: list[str] = []
    real_open, real_replace = os.open, os.replace

    def open_(path, flags, *args):
        if os.fspath(path) == str(root):
            calls.append("sync")
        return real_open(path, flags, *args)

    def replace(src, dst):
        calls.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_put_many_syncs_contents_before_the_renames_and_names_after(tmp_path, monkeypatch):
    root = tmp_path / "blobs"
    store = LocalStorage(root)
    calls = file_system_calls(monkeypatch, root)
    blobs = [DATA + str(i).encode() for i in range(40)] + [DATA + b"0"]  # one repeated
    refs = store.put_many(blobs)
    assert [r.sha256 for r in refs] == [hashlib.sha256(b).hexdigest() for b in blobs]
    assert all(store.get(r) == b for r, b in zip(refs, blobs))
    assert calls == ["sync"] + ["rename"] * 80 + ["sync"]  # 40 blobs + their meta files
    assert not list(root.rglob(".tmp-*"))
    calls.clear()
    assert store.put_many(blobs) == refs and calls == []  # all stored: nothing written


def test_put_many_that_fails_leaves_no_temp_file(tmp_path, monkeypatch):
    root = tmp_path / "blobs"
    store = LocalStorage(root)
    real_replace, done = os.replace, []

    def replace(src, dst):
        if len(done) == 3:
            raise OSError(28, "No space left on device")
        done.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError):
        store.put_many([DATA + b"a", DATA + b"b", DATA + b"c"])
    assert not list(root.rglob(".tmp-*"))


def test_local_storage(tmp_path):
    store = LocalStorage(tmp_path / "blobs")
    ref = check_roundtrip(store)
    path = tmp_path / "blobs" / ref.key
    assert path.read_bytes() == DATA
    path.write_bytes(DATA + b"x")                      # corrupted on disk
    with pytest.raises(StorageError) as ei:
        store.get(ref)
    assert ei.value.code == "BLOB_INTEGRITY"


def test_local_storage_encrypted_at_rest(tmp_path):
    key = os.urandom(32)
    store = LocalStorage(tmp_path / "enc", cipher=AesGcmCipher(key))
    ref = check_roundtrip(store)
    raw = (tmp_path / "enc" / ref.key).read_bytes()
    assert DATA[:30] not in raw and len(raw) == len(DATA) + 4 + 12 + 16
    with pytest.raises(StorageError) as ei:
        LocalStorage(tmp_path / "enc", cipher=AesGcmCipher(os.urandom(32))).get(ref)
    assert ei.value.code == "BLOB_DECRYPT_FAILED"
    tampered = bytearray(raw)
    tampered[40] ^= 1
    (tmp_path / "enc" / ref.key).write_bytes(bytes(tampered))
    with pytest.raises(StorageError) as ei:
        store.get(ref)
    assert ei.value.code == "BLOB_DECRYPT_FAILED"


def test_local_storage_sm4_encrypted(tmp_path):
    key = os.urandom(16)
    store = LocalStorage(tmp_path / "sm4", cipher=Sm4GcmCipher(key, key_id=7))
    ref = check_roundtrip(store)
    raw = (tmp_path / "sm4" / ref.key).read_bytes()
    assert raw[:4] == b"SG1\x07" and DATA[:30] not in raw
    for other in (Sm4GcmCipher(os.urandom(16), key_id=7), Sm4GcmCipher(key, key_id=8), AesGcmCipher(b"k" * 32)):
        with pytest.raises(StorageError) as ei:
            LocalStorage(tmp_path / "sm4", cipher=other).get(ref)
        assert ei.value.code == "BLOB_DECRYPT_FAILED"


def test_s3_storage_against_fake_server():
    with FakeS3() as s3:
        store = S3Storage(endpoint=s3.endpoint, bucket="docs", access_key=s3.access_key,
                          secret_key=s3.secret_key, region=s3.region, prefix="tenant-1/")
        ref = check_roundtrip(store)
        body, meta = s3.buckets["docs"]["tenant-1/" + ref.key]
        assert body == DATA and meta["x-amz-meta-sm3"] == ref.sm3
        assert s3.rejected.count("NoSuchKey") >= 1 and "SignatureDoesNotMatch" not in s3.rejected

        enc = S3Storage(endpoint=s3.endpoint, bucket="docs", access_key=s3.access_key,
                        secret_key=s3.secret_key, region=s3.region, prefix="enc/",
                        cipher=AesGcmCipher(b"k" * 32))
        ref2 = enc.put(DATA)
        assert s3.buckets["docs"]["enc/" + ref2.key][0] != DATA and enc.get(ref2) == DATA


def test_s3_bad_signature_rejected():
    with FakeS3() as s3:
        wrong = S3Storage(endpoint=s3.endpoint, bucket="docs", access_key=s3.access_key,
                          secret_key="not-the-secret", region=s3.region)
        with pytest.raises(StorageError) as ei:
            wrong.put(DATA)               # HEAD first: 403 without a body
        assert "403" in str(ei.value) and ei.value.code == "STORAGE_BACKEND"
        with pytest.raises(StorageError) as ei:
            wrong.get(BlobRef(hashlib.sha256(DATA).hexdigest()))
        assert "SignatureDoesNotMatch" in str(ei.value)
        assert s3.rejected == ["SignatureDoesNotMatch"] * 2 and not s3.buckets["docs"]
        bad_key = S3Storage(endpoint=s3.endpoint, bucket="docs", access_key="AKIDOTHER",
                            secret_key=s3.secret_key, region=s3.region)
        with pytest.raises(StorageError, match="InvalidAccessKeyId"):
            bad_key.get(BlobRef("0" * 64))
        wrong_region = S3Storage(endpoint=s3.endpoint, bucket="docs", access_key=s3.access_key,
                                 secret_key=s3.secret_key, region="us-east-1")
        with pytest.raises(StorageError, match="SignatureDoesNotMatch"):
            wrong_region.get(BlobRef("0" * 64))


def test_fake_s3_checks_payload_hash_and_signature():
    """The fake rejects a body that does not match the signed x-amz-content-sha256."""
    import httpx
    with FakeS3() as s3:
        store = S3Storage(endpoint=s3.endpoint, bucket="docs", access_key=s3.access_key,
                          secret_key=s3.secret_key, region=s3.region)
        sent = {}

        def tamper(request: httpx.Request):
            sent["headers"] = dict(request.headers)
        client = httpx.Client(event_hooks={"request": [tamper]})
        store._http = client
        store.put(b"hello")
        h = sent["headers"]
        r = httpx.put(f"{s3.endpoint}/docs/x", content=b"HELLO", headers={
            k: v for k, v in h.items() if k in ("authorization", "x-amz-date", "x-amz-content-sha256")})
        assert r.status_code == 400 and b"XAmzContentSHA256Mismatch" in r.content
