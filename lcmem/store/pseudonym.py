"""Pseudonymised patient ids: a keyed hash with the project's own secret, never a plain hash.

A plain hash of a PatientID can be reversed by hashing candidate IDs; an HMAC with a random per-project key
cannot, without the project file. The same patient gets the same pseudonym within a project.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret() -> str:
    """A fresh 256-bit project secret (hex)."""
    return secrets.token_hex(32)


def pseudonymise(patient_id: str | None, secret: str) -> str | None:
    """``P-`` and the first 16 hex digits of HMAC-SHA256(secret, patient id); ``None`` stays ``None``."""
    if not patient_id:
        return None
    digest = hmac.new(bytes.fromhex(secret), patient_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()
    return f"P-{digest[:16]}"
