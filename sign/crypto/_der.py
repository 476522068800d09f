"""Minimal strict DER reader/writer for the few structures this package handles by hand.

Strict on purpose: signatures and SM2 ciphertexts must be canonical DER (definite minimal lengths,
minimal positive INTEGERs, no trailing bytes) so that malleable encodings are rejected uniformly
by both engines.
"""
from __future__ import annotations


class DERError(ValueError):
    """Input is not the canonical DER we expect."""


def _read_length(buf: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(buf):
        raise DERError("truncated length")
    first = buf[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0 or count > 4 or pos + count > len(buf):
        raise DERError("unsupported or truncated long-form length")
    value = int.from_bytes(buf[pos:pos + count], "big")
    if value < 0x80 or buf[pos] == 0:
        raise DERError("non-minimal length")
    return value, pos + count


def read_tlv(buf: bytes, pos: int = 0) -> tuple[int, bytes, int]:
    """Read one TLV at ``pos``; return (tag, value, next_pos)."""
    if pos >= len(buf):
        raise DERError("truncated tag")
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise DERError("multi-byte tags not supported")
    length, pos = _read_length(buf, pos + 1)
    end = pos + length
    if end > len(buf):
        raise DERError("truncated value")
    return tag, bytes(buf[pos:end]), end


def read_sequence(buf: bytes, tag: int = 0x30) -> list[tuple[int, bytes]]:
    """Parse ``buf`` as exactly one constructed element and return its children (tag, value)."""
    got, body, end = read_tlv(buf)
    if got != tag or end != len(buf):
        raise DERError("expected a single SEQUENCE with no trailing data")
    items, pos = [], 0
    while pos < len(body):
        t, v, pos = read_tlv(body, pos)
        items.append((t, v))
    return items


def decode_uint(tag: int, value: bytes) -> int:
    """Decode a non-negative, minimally encoded INTEGER."""
    if tag != 0x02 or not value:
        raise DERError("expected INTEGER")
    if value[0] & 0x80:
        raise DERError("negative INTEGER")
    if len(value) > 1 and value[0] == 0 and not value[1] & 0x80:
        raise DERError("non-minimal INTEGER")
    return int.from_bytes(value, "big")


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode_tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(value)) + value


def encode_uint(n: int) -> bytes:
    if n < 0:
        raise ValueError("negative integer")
    raw = n.to_bytes(n.bit_length() // 8 + 1, "big")  # always room for a leading 0 sign bit
    if len(raw) > 1 and raw[0] == 0 and not raw[1] & 0x80:
        raw = raw[1:]
    return encode_tlv(0x02, raw)


def encode_sequence(*items: bytes) -> bytes:
    return encode_tlv(0x30, b"".join(items))


def encode_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    body = bytearray([40 * parts[0] + parts[1]])
    for arc in parts[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return encode_tlv(0x06, bytes(body))
