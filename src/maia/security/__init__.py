"""Who may do what: API keys, principals with scopes and namespace grants, request
limits, and the audit log. Pure parts here; the transports apply them."""

from maia.security.keys import KEY_PREFIX, generate_key, hash_key, is_key_hash
from maia.security.principal import OPEN_PRINCIPAL, Principal, namespace_allowed

__all__ = [
    "KEY_PREFIX",
    "OPEN_PRINCIPAL",
    "Principal",
    "generate_key",
    "hash_key",
    "is_key_hash",
    "namespace_allowed",
]
