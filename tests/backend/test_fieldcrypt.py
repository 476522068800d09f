"""Personal data and secrets are SM4-GCM encrypted at rest, with key ids for rotation."""
from __future__ import annotations

import pytest

from backend.fieldcrypt import FieldCipher, FieldCipherError, mask
from sign.crypto.sm4 import sm4_gcm_decrypt

K1 = ("k1", bytes(range(16)))
K2 = ("k2", bytes(range(16, 32)))


def test_roundtrip_and_no_plaintext_at_rest():
    cipher = FieldCipher((K1,))
    stored = cipher.encrypt("110101199003071234", "person.id_number")
    assert "110101199003071234" not in stored and stored.startswith("sm4g1:k1:")
    assert cipher.decrypt(stored, "person.id_number") == "110101199003071234"


def test_each_encryption_uses_a_fresh_nonce():
    cipher = FieldCipher((K1,))
    assert cipher.encrypt("13800138000", "m") != cipher.encrypt("13800138000", "m")


def test_the_format_is_plain_sm4_gcm(tmp_path):
    """Independent of FieldCipher: nonce | ciphertext | tag under the named key."""
    import base64

    stored = FieldCipher((K1,)).encrypt("张三", "person.name")
    raw = base64.b64decode(stored.split(":", 2)[2])
    assert sm4_gcm_decrypt(K1[1], raw[:12], raw[12:], b"person.name").decode() == "张三"


def test_a_value_moved_to_another_column_does_not_decrypt():
    cipher = FieldCipher((K1,))
    stored = cipher.encrypt("secret", "tenant.app_secret")
    with pytest.raises(FieldCipherError):
        cipher.decrypt(stored, "callback.secret")


def test_a_corrupted_value_is_an_explicit_error():
    cipher = FieldCipher((K1,))
    stored = cipher.encrypt("secret", "c")
    with pytest.raises(FieldCipherError):
        cipher.decrypt(stored[:-4] + "AAAA", "c")
    with pytest.raises(FieldCipherError):
        cipher.decrypt("plain text", "c")


def test_rotation_old_values_still_decrypt_and_are_flagged():
    old = FieldCipher((K1,)).encrypt("13800138000", "m")
    rotated = FieldCipher((K2, K1))
    assert rotated.decrypt(old, "m") == "13800138000"
    assert rotated.needs_rotation(old)
    assert not rotated.needs_rotation(rotated.encrypt("13800138000", "m"))
    with pytest.raises(FieldCipherError):
        FieldCipher((K2,)).decrypt(old, "m")


def test_blind_index_matches_equal_values_only():
    cipher = FieldCipher((K1,), blind_index_key=b"b" * 16)
    a = cipher.blind_index("11010119900307123x", "id_number")
    assert a == cipher.blind_index("11010119900307123X ", "id_number")
    assert a != cipher.blind_index("110101199003071235", "id_number")
    assert a != FieldCipher((K1,), blind_index_key=b"c" * 16).blind_index(
        "11010119900307123X", "id_number")


def test_masking():
    assert mask("110101199003071234") == "1101**********1234"
    assert mask("13800138000", 3, 4) == "138****8000"
    assert mask("123") == "***"
    assert mask("张三丰", 1, 0) == "张**"
