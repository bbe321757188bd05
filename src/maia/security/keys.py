"""API keys: ``maia_`` + 64 hex characters from ``secrets``; only their SHA-256 is kept."""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_PREFIX = "maia_"
_HASH = re.compile(r"[0-9a-f]{64}")
# A key in a URL: the revoke route takes one as a path segment.
_KEY_IN_PATH = re.compile(r"(/admin/apikeys/)[^/?]+|maia_[0-9A-Za-z]+")


def generate_key() -> str:
    """A new random key (256 bits). Shown to its owner once, never stored."""
    return KEY_PREFIX + secrets.token_hex(32)


def hash_key(raw: str) -> str:
    """The stored form of a key: hex SHA-256 of its text."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def is_key_hash(value: str) -> bool:
    """True for a stored key's id (64 lower-case hex digits), as listings show it."""
    return _HASH.fullmatch(value) is not None


def redact_keys(text: str) -> str:
    """``text`` (a path for the access log) with anything that may be a key replaced."""
    return _KEY_IN_PATH.sub(
        lambda m: f"{m.group(1)}[redacted]" if m.group(1) else "maia_[redacted]", text
    )
