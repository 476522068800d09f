"""RFC 3161: internal TSA (RSA / SM2) and the client, checked with pyHanko and gmssl."""
from __future__ import annotations

import asyncio
import hashlib
import pathlib
import socket
from datetime import datetime, timedelta, timezone

import pytest
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from sign.certs.validate import validate_chain
from sign.timestamps import (
    InProcessTimeStamper, TimeStampResponse, TimeStamper, TimestampError, build_request, hash_data, parse_response,
    tst_info, validate_timestamp, verify_token,
)
from sign.tsa import DEFAULT_POLICY_OID, TimeStampAuthority, serve_in_thread
from tests.gmssl_check import gmssl_verify_cert

DATA = "保单 PDF bytes".encode()
REPO = pathlib.Path(__file__).resolve().parents[2]


def _attr(attrs, name):
    return next(a["values"][0] for a in attrs if a["type"].native == name)


def test_http_rsa_token_validates_with_pyhanko(tsa_server_url, tsa_identity_rsa):
    digest = hashlib.sha256(DATA).digest()
    token = TimeStamper(tsa_server_url, timeout=5).timestamp(digest, "sha256")
    info = tst_info(token)
    assert info["policy"].dotted == DEFAULT_POLICY_OID
    assert info["accuracy"]["seconds"].native == 1
    assert abs(info["gen_time"].native - datetime.now(timezone.utc)) < timedelta(minutes=1)

    ctx = ValidationContext(trust_roots=[tsa_identity_rsa.root], other_certs=tsa_identity_rsa.chain,
                            allow_fetching=False)
    status = asyncio.run(validate_tst_signed_data(token["content"], ctx, lambda alg: digest))
    assert status["intact"] and status["valid"], status
    assert status["trust_problem_indic"] is None
    assert status["signing_cert"].dump() == tsa_identity_rsa.cert.dump()


def test_rsa_token_checked_with_cryptography(tsa_identity_rsa):
    from cryptography import x509 as cx
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    tsa = TimeStampAuthority.from_identity(tsa_identity_rsa)
    token = InProcessTimeStamper(tsa).timestamp_data(DATA, "sha384")
    si = token["content"]["signer_infos"][0]
    content = token["content"]["encap_content_info"]["content"].contents
    assert _attr(si["signed_attrs"], "message_digest").native == hashlib.sha256(content).digest()
    pub = cx.load_der_x509_certificate(tsa_identity_rsa.cert.dump()).public_key()
    pub.verify(si["signature"].native, si["signed_attrs"].untag().dump(), padding.PKCS1v15(), hashes.SHA256())
    assert tst_info(token)["message_imprint"]["hashed_message"].native == hashlib.sha384(DATA).digest()


def test_token_verification_and_tsa_chain(tsa_identity_rsa):
    token = InProcessTimeStamper(TimeStampAuthority.from_identity(tsa_identity_rsa)).timestamp_data(DATA)
    digest = hashlib.sha256(DATA).digest()
    verify_token(token, digest=digest, hash_alg="sha256")
    with pytest.raises(TimestampError, match="imprint"):
        verify_token(token, digest=hashlib.sha256(b"other").digest())
    result = validate_chain(tsa_identity_rsa.cert, tsa_identity_rsa.chain, trust=[tsa_identity_rsa.root],
                            purpose="timestamping")
    assert result.ok, result.errors


def test_tampered_token_rejected(tsa_identity_rsa):
    token = InProcessTimeStamper(TimeStampAuthority.from_identity(tsa_identity_rsa)).timestamp_data(DATA)
    der = bytearray(token.dump())
    sig = token["content"]["signer_infos"][0]["signature"].native
    pos = bytes(der).rindex(sig)
    der[pos + 10] ^= 0x01
    from asn1crypto import cms

    with pytest.raises(TimestampError, match="signature"):
        verify_token(cms.ContentInfo.load(bytes(der)))


def test_nonce_and_imprint_checked(tsa_identity_rsa):
    tsa = TimeStampAuthority.from_identity(tsa_identity_rsa)
    digest = hashlib.sha256(DATA).digest()
    request = build_request(digest, "sha256", nonce=1234)
    reply = tsa.respond(request.dump())
    assert tst_info(parse_response(reply, request))["nonce"].native == 1234
    with pytest.raises(TimestampError, match="nonce"):
        parse_response(reply, build_request(digest, "sha256", nonce=999))
    with pytest.raises(TimestampError, match="imprint"):
        parse_response(reply, build_request(hashlib.sha256(b"x").digest(), "sha256", nonce=1234))
    with pytest.raises(TimestampError, match="malformed"):
        parse_response(b"garbage", request)


def test_tsa_rejections(tsa_identity_rsa):
    tsa = TimeStampAuthority.from_identity(tsa_identity_rsa)
    bad = TimeStampResponse.load(tsa.respond(b"\x30\x03\x02\x01\x01"))
    assert bad["status"]["status"].native == "rejection"
    assert "bad_data_format" in bad["status"]["fail_info"].native
    req = build_request(hashlib.sha256(DATA).digest(), "sha256", policy_oid="1.2.3.4")
    resp = TimeStampResponse.load(tsa.respond(req.dump()))
    assert "unaccepted_policy" in resp["status"]["fail_info"].native
    with pytest.raises(TimestampError, match="refused"):
        InProcessTimeStamper(tsa, policy_oid="1.2.3.4").timestamp(hashlib.sha256(DATA).digest())
    with pytest.raises(TimestampError, match="32 bytes"):
        InProcessTimeStamper(tsa).timestamp(b"short", "sha256")


def test_serials_unique_and_cert_req_honoured(tsa_identity_rsa):
    tsa = TimeStampAuthority.from_identity(tsa_identity_rsa)
    digest = hashlib.sha256(DATA).digest()
    a = InProcessTimeStamper(tsa).timestamp(digest)
    b = InProcessTimeStamper(tsa, cert_req=False).timestamp(digest)
    assert tst_info(a)["serial_number"].native != tst_info(b)["serial_number"].native
    assert len(a["content"]["certificates"]) == 3
    assert not b["content"]["certificates"]
    verify_token(b, extra_certs=[tsa_identity_rsa.cert])


def test_client_errors_are_clear(tsa_server_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TimestampError, match="failed"):
        TimeStamper(f"http://127.0.0.1:{port}/", timeout=2).timestamp(hashlib.sha256(DATA).digest())
    import httpx

    resp = httpx.get(tsa_server_url)
    assert resp.status_code == 405
    resp = httpx.post(tsa_server_url, content=b"x", headers={"Content-Type": "text/plain"})
    assert resp.status_code == 415


def test_client_timeout():
    with socket.socket() as server:  # accepts the connection, never answers
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/"
        with pytest.raises(TimestampError, match="timed out"):
            TimeStamper(url, timeout=0.3).timestamp(hashlib.sha256(DATA).digest())


# ---- SM2 ---------------------------------------------------------------------------------------
def test_sm2_token_verifies_with_gmssl(tsa_identity_sm2):
    tsa = TimeStampAuthority.from_identity(tsa_identity_sm2)
    assert tsa.digest_algorithm == "sm3"
    token = InProcessTimeStamper(tsa).timestamp(hash_data("sm3", DATA), "sm3")
    sd = token["content"]
    si = sd["signer_infos"][0]
    assert si["digest_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"
    assert si["signature_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.501"
    content = sd["encap_content_info"]["content"].contents
    from gmssl import func, sm3

    assert _attr(si["signed_attrs"], "message_digest").native.hex() == sm3.sm3_hash(func.bytes_to_list(content))
    assert gmssl_verify_cert(tsa_identity_sm2.cert, si["signature"].native, si["signed_attrs"].untag().dump())
    assert not gmssl_verify_cert(tsa_identity_sm2.cert, si["signature"].native, b"other data")
    info = verify_token(token, digest=hash_data("sm3", DATA), hash_alg="sm3")
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].dotted == "1.2.156.10197.1.401"


def test_sm2_http_tsa(tsa_server_url_sm2, tsa_identity_sm2):
    token = TimeStamper(tsa_server_url_sm2).timestamp_data(DATA, "sha256")
    verify_token(token, digest=hashlib.sha256(DATA).digest())
    result = validate_chain(tsa_identity_sm2.cert, tsa_identity_sm2.chain, trust=[tsa_identity_sm2.root],
                            purpose="timestamping")
    assert result.ok, result.errors


def test_tsa_server_in_thread(tsa_identity_rsa):
    with serve_in_thread(TimeStampAuthority.from_identity(tsa_identity_rsa)) as server:
        token = TimeStamper(server.url).timestamp_data(DATA)
    verify_token(token)


@pytest.mark.parametrize("which", ["rsa", "sm2"])
def test_tsa_command_line(tmp_path, which, tsa_identity_rsa, tsa_identity_sm2):
    import subprocess
    import sys

    ident = tsa_identity_rsa if which == "rsa" else tsa_identity_sm2
    (tmp_path / "tsa.key").write_bytes(ident.key_pem)
    (tmp_path / "tsa.pem").write_bytes(ident.cert_pem)
    (tmp_path / "chain.pem").write_bytes(ident.chain_pem)
    proc = subprocess.Popen([sys.executable, "-m", "sign.tsa", "--port", "0", "--key", str(tmp_path / "tsa.key"),
                             "--cert", str(tmp_path / "tsa.pem"), "--chain", str(tmp_path / "chain.pem")],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = proc.stdout.readline()
        assert line.startswith("TSA listening on "), line
        token = TimeStamper(line.split()[-1], timeout=5).timestamp_data(DATA)
        verify_token(token, digest=hashlib.sha256(DATA).digest())
        assert len(token["content"]["certificates"]) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=5)


# ---- third-party clients/verifiers against our TSA ---------------------------------------------
def test_pyhanko_http_client_against_our_server(tsa_server_url, tsa_identity_rsa):
    from pyhanko.sign.timestamps.requests_client import HTTPTimeStamper

    digest = hashlib.sha256(DATA).digest()
    token = asyncio.run(HTTPTimeStamper(tsa_server_url).async_timestamp(digest, "sha256"))
    assert tst_info(token)["message_imprint"]["hashed_message"].native == digest
    verify_token(token, digest=digest, hash_alg="sha256")


@pytest.mark.skipif(__import__("shutil").which("openssl") is None, reason="openssl not installed")
def test_openssl_ts_verify_rsa(tmp_path, tsa_identity_rsa):
    import subprocess

    from sign.certs.pem import dump_certificates

    tsa = TimeStampAuthority.from_identity(tsa_identity_rsa)
    digest = hashlib.sha256(DATA).digest()
    (tmp_path / "resp.tsr").write_bytes(tsa.respond(build_request(digest).dump()))
    (tmp_path / "root.pem").write_bytes(dump_certificates([tsa_identity_rsa.root]))
    (tmp_path / "chain.pem").write_bytes(dump_certificates(tsa_identity_rsa.chain[:1]))
    res = subprocess.run(["openssl", "ts", "-verify", "-digest", digest.hex(), "-in", tmp_path / "resp.tsr",
                          "-CAfile", tmp_path / "root.pem", "-untrusted", tmp_path / "chain.pem"],
                         capture_output=True, text=True)
    assert res.returncode == 0 and "Verification: OK" in res.stdout, res.stdout + res.stderr


@pytest.mark.parametrize("alg", ["rsa", "sm2"])
def test_validate_timestamp_with_path_and_crl(alg, ca):
    from sign.certs.ca import create_hierarchy
    from sign.certs.profiles import TSASubject

    h = create_hierarchy("sm2" if alg == "sm2" else "rsa2048", org="TS Path CA")
    ident = h.issuing.new_identity(TSASubject("Path TSA", "TS Path CA"))
    token = InProcessTimeStamper(TimeStampAuthority.from_identity(ident)).timestamp_data(DATA)
    digest = hashlib.sha256(DATA).digest()
    result = validate_timestamp(token, trust=[h.root.cert], digest=digest, crls=[h.issuing.crl()])
    assert result.ok and len(result.chain.path) == 3
    assert not validate_timestamp(token, trust=[ca.rsa.root.cert], digest=digest).ok
    h.issuing.revoke(ident.cert, reason="key_compromise")
    revoked = validate_timestamp(token, trust=[h.root.cert], digest=digest, crls=[h.issuing.crl()],
                                 at=datetime.now(timezone.utc) + timedelta(minutes=1))
    assert revoked.chain.codes == {"REVOKED"}
