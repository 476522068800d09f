"""Minimal SM2 signature verification (GB/T 32918) used only when ``sign.crypto.sm2`` is absent."""
from __future__ import annotations

import hashlib

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
DEFAULT_UID = b"1234567812345678"

Point = tuple[int, int, int]  # Jacobian; Z == 0 is infinity


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def _double(p: Point) -> Point:
    x, y, z = p
    if z == 0 or y == 0:
        return (0, 1, 0)
    yy = y * y % P
    s = 4 * x * yy % P
    zz = z * z % P
    m = (3 * x * x + A * zz * zz) % P
    x3 = (m * m - 2 * s) % P
    return (x3, (m * (s - x3) - 8 * yy * yy) % P, 2 * y * z % P)


def _add(p: Point, q: Point) -> Point:
    if p[2] == 0:
        return q
    if q[2] == 0:
        return p
    x1, y1, z1 = p
    x2, y2, z2 = q
    z1z1, z2z2 = z1 * z1 % P, z2 * z2 % P
    u1, u2 = x1 * z2z2 % P, x2 * z1z1 % P
    s1, s2 = y1 * z2 * z2z2 % P, y2 * z1 * z1z1 % P
    if u1 == u2:
        return _double(p) if s1 == s2 else (0, 1, 0)
    h, r = (u2 - u1) % P, (s2 - s1) % P
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    return (x3, (r * (v - x3) - s1 * hhh) % P, h * z1 * z2 % P)


def _mul(k: int, p: Point) -> Point:
    acc: Point = (0, 1, 0)
    for bit in bin(k)[2:]:
        acc = _double(acc)
        if bit == "1":
            acc = _add(acc, p)
    return acc


def _affine_x(p: Point) -> int:
    zinv = pow(p[2], -1, P)
    return p[0] * zinv * zinv % P


def za(point: bytes, uid: bytes = DEFAULT_UID) -> bytes:
    entl = (len(uid) * 8).to_bytes(2, "big")
    consts = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    return sm3(entl + uid + consts + point[1:65])


def verify(point: bytes, r: int, s: int, message: bytes, uid: bytes = DEFAULT_UID) -> bool:
    """Verify (r, s) over ``message`` with the uncompressed public point ``04||x||y``."""
    if len(point) != 65 or point[0] != 4 or not (0 < r < N and 0 < s < N):
        return False
    t = (r + s) % N
    if t == 0:
        return False
    e = int.from_bytes(sm3(za(point, uid) + message), "big")
    pa = (int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:65], "big"), 1)
    xy = _add(_mul(s, (GX, GY, 1)), _mul(t, pa))
    if xy[2] == 0:
        return False
    return (e + _affine_x(xy)) % N == r
