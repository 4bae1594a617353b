"""The vault: Amazon data kept the way the Data Protection Policy demands.

Encrypted PII (AES-256-GCM per field, a data key per record under a key-encryption key from a
file, an environment variable or AWS KMS), retention by crypto-shredding, a hash-chained audit
log, users and roles enforced in the API itself, monitoring, an inventory, incidents and an
evidence pack. See ``docs/vault.md``.
"""

from sellerkit.vault.core import Vault
from sellerkit.vault.roles import Permission, Principal, Role

__all__ = ["Permission", "Principal", "Role", "Vault"]
