"""PDF signature verification (签署校验 / 在线验签). Public API: ``sign.verify``."""
