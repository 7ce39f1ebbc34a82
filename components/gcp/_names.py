"""GCP physical names and labels: what each API accepts, derived deterministically from a component's names."""

from __future__ import annotations

import re
from typing import Mapping

from lepton_infra.conventions import physical_name

# GKE cluster and node pool names: at most 40 characters, a letter first
# (https://cloud.google.com/kubernetes-engine/docs/reference/rest/v1/projects.locations.clusters#Cluster.FIELDS.name).
CLUSTER_NAME_MAX = 40
# Service account ids: 6-30 characters, [a-z]([-a-z0-9]*[a-z0-9]) (IAM API, projects.serviceAccounts.create).
ACCOUNT_ID_MIN, ACCOUNT_ID_MAX = 6, 30
LABEL_MAX = 63


def rfc1035(*parts: str, max_length: int = 63) -> str:
    """A name most GCP APIs accept: lowercase letters, digits and '-', a letter first, at most ``max_length``."""
    name = physical_name(*parts, max_length=max_length)
    return name if name[0].isalpha() else physical_name("x", name, max_length=max_length)


def account_id(*parts: str) -> str:
    """A service account id from ``parts``: padded to IAM's minimum, shortened with a hash past its maximum."""
    name = rfc1035(*parts, max_length=ACCOUNT_ID_MAX)
    return name if len(name) >= ACCOUNT_ID_MIN else f"{name}-sa"[:ACCOUNT_ID_MAX].ljust(ACCOUNT_ID_MIN, "0")


def dataset_id(*parts: str) -> str:
    """A BigQuery dataset id: letters, digits and '_' only."""
    return re.sub(r"[^a-z0-9_]", "_", "_".join(parts).lower())


def _label_part(value: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "_", value.lower())[:LABEL_MAX]


def labels_from_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags (lepton.ai/cell: aws-use1) as GCP labels (lepton-ai_cell: aws-use1): '.' -> '-', other signs -> '_'."""
    out = {}
    for key, value in tags.items():
        label = _label_part(key.replace(".", "-"))
        out[label if label[:1].isalpha() else _label_part(f"l_{label}")] = _label_part(value)
    return out
