"""The file store behind runtime.storage(): local directory by default, S3-compatible object
storage from STORAGE_URL, SM4-GCM at rest with STORAGE_ENCRYPT."""
from __future__ import annotations

import pytest

from backend.runtime import Runtime
from backend.settings import Settings, SettingsError
from documents.storage import LocalStorage, S3Storage
from tests.backend.files_testkit import OP, fill, import_examples
from tests.conftest import start_server, stop_server
from tests.documents.fake_s3 import FakeS3


def test_the_default_store_is_a_local_directory_under_data_dir(test_env):
    store = Runtime.from_settings(Settings.from_env(test_env)).storage()
    assert isinstance(store, LocalStorage) and str(store.root).endswith("/files")
    ref = store.put("保单".encode())
    assert store.get(ref) == "保单".encode() and len(ref.sm3) == 64


def test_s3_storage_with_sm4_at_rest(test_env):
    with FakeS3() as s3:
        settings = Settings.from_env({
            **test_env, "STORAGE_URL": f"s3://docs?endpoint={s3.endpoint}&region={s3.region}&prefix=esign/",
            "S3_ACCESS_KEY": s3.access_key, "S3_SECRET_KEY": s3.secret_key,
            "STORAGE_ENCRYPT": "true"})
        store = Runtime.from_settings(settings).storage()
        assert isinstance(store, S3Storage)
        ref = store.put(b"%PDF-1.7 policy")
        stored, meta = s3.buckets["docs"]["esign/" + ref.key]
        assert stored.startswith(b"SG1") and b"policy" not in stored   # SM4-GCM
        assert meta["x-amz-meta-sm3"] == ref.sm3
        assert store.get(ref) == b"%PDF-1.7 policy"


@pytest.mark.parametrize("url", ["ftp://x", "s3://?endpoint=http://x", "s3://bucket"])
def test_bad_storage_urls_stop_the_start(test_env, url):
    with pytest.raises(SettingsError):
        Runtime.from_settings(Settings.from_env({**test_env, "STORAGE_URL": url})).storage()


def test_a_server_on_s3_with_encryption_stores_filled_documents_encrypted(
        prepared_database, test_env, tenant, tmp_path):
    from backend.client import ApiClient

    with FakeS3() as s3:
        env = {**test_env, "STORAGE_URL": f"s3://docs?endpoint={s3.endpoint}&region={s3.region}",
               "S3_ACCESS_KEY": s3.access_key, "S3_SECRET_KEY": s3.secret_key,
               "STORAGE_ENCRYPT": "true"}
        proc, base_url = start_server(env, tmp_path / "s3_server.log")
        try:
            with ApiClient(base_url, tenant.app_key, tenant.app_secret) as api:
                import_examples(api)
                doc = fill(api, "receipt")
                pdf = api.get(f"/api/v1/documents/{doc['id']}/current", headers=OP).content
        finally:
            stop_server(proc)
        key = f"sha256/{doc['current']['sha256'][:2]}/{doc['current']['sha256'][2:4]}/{doc['current']['sha256']}"
        stored, _ = s3.buckets["docs"][key]
        assert stored.startswith(b"SG1") and pdf.startswith(b"%PDF") and stored[:32] != pdf[:32]
        assert len(s3.buckets["docs"]) >= 9   # 8 template PDFs + the document
