"""Physical names of Azure resources whose names are global (storage accounts, key vaults, registries).

They carry the caller's prefix (its letters and digits, as each kind allows) and 8 hex of (prefix, kind,
subscription): the same stack in the same subscription always gets the same name, two stacks never collide, and a
name Azure keeps reserved after a delete (a purge-protected vault keeps its name for its retention period) is never
needed again by another stack.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class GlobalNameRule:
    """One kind's naming rule: length bounds and whether '-' may appear (Azure resource naming rules:
    https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules)."""

    max_length: int
    hyphens: bool


STORAGE_ACCOUNT = GlobalNameRule(max_length=24, hyphens=False)  # 3-24 lowercase letters and digits
KEY_VAULT = GlobalNameRule(max_length=24, hyphens=True)  # 3-24 letters, digits, '-'; starts with a letter
CONTAINER_REGISTRY = GlobalNameRule(max_length=50, hyphens=False)  # 5-50 letters and digits
_SUFFIX = 8


def global_name(rule: GlobalNameRule, prefix: str, kind: str, subscription_id: str) -> str:
    """``<prefix><kind><8 hex>`` (with '-' where allowed), shortened to the rule, starting with a letter."""
    digest = hashlib.sha256(f"{prefix}/{kind}/{subscription_id}".encode()).hexdigest()[:_SUFFIX]
    allowed = r"[^a-z0-9-]+" if rule.hyphens else r"[^a-z0-9]+"
    base = re.sub(allowed, "", f"{prefix}-{kind}".lower())
    base = re.sub(r"-{2,}", "-", base).strip("-")
    if not base[:1].isalpha():
        base = f"l{base}"
    joiner = "-" if rule.hyphens else ""
    base = base[: rule.max_length - _SUFFIX - len(joiner)].rstrip("-")
    return f"{base}{joiner}{digest}"


def global_name_output(rule: GlobalNameRule, prefix: str, kind: str, subscription_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(subscription_id).apply(lambda sub: global_name(rule, prefix, kind, sub))
