"""Small helpers the provider mocks share: deterministic ids and realistic-looking values."""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Mapping


def hex_of(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def fake_pem(seed: str) -> str:
    body = base64.b64encode(hashlib.sha512(seed.encode()).digest() * 4).decode()
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i : i + 64] for i in range(0, len(body), 64)) + "\n-----END CERTIFICATE-----\n"


def named(inputs: Mapping[str, Any], name: str, key: str = "name") -> str:
    """The physical name the program gave, or an auto-name as the provider would make one."""
    return inputs.get(key) or f"{name}-{hex_of(name, 7)}"
