"""What every GKE node pool of a cell shares: its service account, shielded boot, the GKE metadata server.

- Nodes run as the cluster's own least-privilege service account, never the Compute Engine default one (CIS GKE
  Benchmark 5.2.1); the cloud-platform scope defers every permission to IAM (GKE docs, "Node service accounts").
- Shielded nodes: secure boot and integrity monitoring (CIS GKE 5.5.5 / 5.5.6).
- GKE_METADATA: pods see the GKE metadata server, so they get their workload identity and never the node's
  credentials (CIS GKE 5.4.2); legacy metadata endpoints off (CIS GKE 5.4.1).
"""

from __future__ import annotations

from typing import Any, Mapping

import pulumi

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
SHIELDED = {"enable_secure_boot": True, "enable_integrity_monitoring": True}
WORKLOAD_METADATA = {"mode": "GKE_METADATA"}
METADATA = {"disable-legacy-endpoints": "true"}
IMAGE_TYPE = "COS_CONTAINERD"
DISK_TYPE = "pd-balanced"
# One node at a time, a new one up before an old one goes (GPU capacity is scarce: no surge past one).
UPGRADE_SETTINGS = {"strategy": "SURGE", "max_surge": 1, "max_unavailable": 0}
MANAGEMENT = {"auto_repair": True, "auto_upgrade": True}


def node_config(
    *,
    service_account: pulumi.Input[str],
    machine_type: str,
    disk_size_gb: int,
    labels: Mapping[str, str],
    resource_labels: Mapping[str, str],
    **extra: Any,
) -> dict[str, Any]:
    """A node pool's node_config with the cell's security defaults; ``extra`` adds GPU fields, taints, spot."""
    return {
        "machine_type": machine_type,
        "image_type": IMAGE_TYPE,
        "disk_type": DISK_TYPE,
        "disk_size_gb": disk_size_gb,
        "service_account": service_account,
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
        "shielded_instance_config": SHIELDED,
        "workload_metadata_config": WORKLOAD_METADATA,
        "metadata": METADATA,
        "labels": dict(labels),
        "resource_labels": dict(resource_labels),
        **extra,
    }
