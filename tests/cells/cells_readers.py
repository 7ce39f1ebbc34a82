"""One small reader per cloud: what a cell's planned resources say, in one cloud-neutral spelling, so the cell-contract
assertions are written once for every cloud.

The readers parse each provider's own spelling (EKS ``NO_SCHEDULE``, AKS ``key=value:Effect``, ARM role ids, IAM
policy JSON) themselves, rather than reusing the conversions of the code under test, so a wrong conversion there
shows here. Every reader reads the planned inputs, as the engine would send them to the cloud.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from lepton_infra.conventions import Taint
from lepton_infra.testing import OfflinePlan, PlannedResource

from cells_support import BuiltCell

OPEN_TO_INTERNET = "0.0.0.0/0"


@dataclass(frozen=True)
class Endpoint:
    """The cluster's API endpoint: whether the internet side exists, and who may reach it there."""

    public: bool
    public_cidrs: tuple[str, ...]  # empty when not public; OPEN_TO_INTERNET where the cloud reads "none" as everyone


@dataclass(frozen=True, order=True)
class Grant:
    """One permission a workload identity holds: on a zone of the lake (its name) or on anything else (its id)."""

    on: str
    access: str  # "read", "write", or the permission itself when it is neither


class CloudReader:
    """What every cloud's reader answers; each cloud reads its own resources."""

    cloud: str
    pool_type: str  # the resource a GPU pool is (its nodes' taints and labels live on it)
    pool_component: str  # the component that declares it
    cluster_type: str
    data_bearing: tuple[str, ...]  # resources that hold data or the keys to it (docs/design.md, "Data safety")

    def gpu_pools(self, plan: OfflinePlan) -> list[PlannedResource]:
        components = {c.urn for c in plan.of_type(self.pool_component)}
        return [p for p in plan.of_type(self.pool_type) if p.parent in components]

    def scheduling(self, pool: PlannedResource) -> tuple[frozenset[Taint], dict[str, str]]:
        """(taints, labels) the pool's nodes carry, in Kubernetes spelling."""
        raise NotImplementedError

    def endpoint(self, plan: OfflinePlan) -> Endpoint:
        raise NotImplementedError

    def grants(self, cell: BuiltCell, annotations: Mapping[str, str]) -> list[Grant]:
        """Every grant the cloud identity named by a service account's ``annotations`` holds."""
        raise NotImplementedError

    def zone_key(self, cell: BuiltCell, zone: str) -> PlannedResource | None:
        """The customer-managed key (one the cell declares) that encrypts the zone's storage at rest, if any."""
        raise NotImplementedError

    def zone_public_access_blocked(self, cell: BuiltCell, zone: str) -> bool:
        """Whether the zone's storage refuses every public (anonymous) access, whatever an ACL or policy says."""
        raise NotImplementedError


def _kubernetes_effect(provider_effect: str) -> str:
    """NO_SCHEDULE (EKS and GKE APIs) -> NoSchedule."""
    return "".join(part.capitalize() for part in provider_effect.split("_"))


def _one(resources: Iterable[PlannedResource], what: str) -> PlannedResource:
    found = list(resources)
    assert len(found) == 1, f"expected one {what}, found {[r.name for r in found]}"
    return found[0]


# --------------------------------------------------------------------------------------------------- AWS
# Read-only actions on a zone: list the bucket, get objects (and their versions), decrypt them with the lake key.
_S3_READ = {"s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion"}


class AwsReader(CloudReader):
    cloud = "aws"
    pool_type = "aws:eks/nodeGroup:NodeGroup"
    pool_component = "lepton:aws:GpuNodePool"
    cluster_type = "aws:eks/cluster:Cluster"
    data_bearing = (
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ecr/repository:Repository",
    )

    def scheduling(self, pool):
        taints = frozenset(Taint(t["key"], t.get("value", ""), _kubernetes_effect(t["effect"])) for t in pool.inputs.get("taints", []))
        return taints, dict(pool.inputs.get("labels", {}))

    def endpoint(self, plan):
        vpc = plan.one(self.cluster_type).inputs["vpcConfig"]
        public = vpc.get("endpointPublicAccess", True)  # EKS's default: public
        return Endpoint(public, tuple(vpc.get("publicAccessCidrs") or [OPEN_TO_INTERNET]) if public else ())

    def _zone_bucket(self, cell, zone):
        return cell.plan.one("aws:s3/bucket:Bucket", f"{cell.name}-lake-{zone}")

    def grants(self, cell, annotations):
        plan = cell.plan
        role = _one((r for r in plan.of_type("aws:iam/role:Role") if r.outputs["arn"] == annotations["eks.amazonaws.com/role-arn"]), "role")
        role_name = role.outputs["name"]
        zones = {}
        for zone in cell.cell_spec.data_lake.zones:
            arn = self._zone_bucket(cell, zone).outputs["arn"]
            zones[arn] = zones[f"{arn}/*"] = zone
        found = [Grant(f"managed policy {arn}", "unknown") for arn in role.inputs.get("managedPolicyArns") or []]
        found += [Grant(f"inline policy {p}", "unknown") for p in role.inputs.get("inlinePolicies") or []]
        found += [
            Grant(f"managed policy {a.inputs['policyArn']}", "unknown")
            for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.inputs["role"] == role_name
        ]
        for policy in plan.of_type("aws:iam/rolePolicy:RolePolicy"):
            if policy.inputs["role"] == role_name:
                found += self._policy_grants(json.loads(policy.inputs["policy"]), zones, cell.cell_spec.region)
        return found

    @staticmethod
    def _policy_grants(document: Mapping[str, Any], zones: Mapping[str, str], region: str) -> list[Grant]:
        """Each Allow statement's (resource, action) as grants. The lake key counts as part of reading the zones the
        same policy reads when it may only decrypt, and only through S3 of the cell's region (kms:ViaService): it
        then opens no object the S3 statements do not."""
        statements = [s for s in document["Statement"] if s["Effect"] == "Allow"]
        read_zones = {
            zones[r]
            for s in statements
            for r in _listed(s["Resource"])
            if r in zones and set(_listed(s["Action"])) <= _S3_READ
        }
        out = []
        for s in statements:
            actions, resources = _listed(s["Action"]), _listed(s["Resource"])
            via_s3 = s.get("Condition") == {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}
            if actions == ["kms:Decrypt"] and via_s3:
                out += [Grant(zone, "read") for zone in sorted(read_zones)]
                continue
            for resource in resources:
                for action in actions:
                    on = zones.get(resource, resource)
                    out.append(Grant(on, "read" if action in _S3_READ and resource in zones else action))
        return out

    def zone_key(self, cell, zone):
        plan = cell.plan
        bucket = self._zone_bucket(cell, zone).outputs["bucket"]
        (config,) = [
            c
            for c in plan.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
            if c.inputs["bucket"] == bucket
        ]
        (rule,) = config.inputs["rules"]
        default = rule["applyServerSideEncryptionByDefault"]
        if default["sseAlgorithm"] != "aws:kms":
            return None
        return next((k for k in plan.of_type("aws:kms/key:Key") if k.outputs["arn"] == default.get("kmsMasterKeyId")), None)

    def zone_public_access_blocked(self, cell, zone):
        bucket = self._zone_bucket(cell, zone).outputs["bucket"]
        blocks = [b for b in cell.plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock") if b.inputs["bucket"] == bucket]
        settings = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        return len(blocks) == 1 and all(blocks[0].inputs.get(s) is True for s in settings)


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# --------------------------------------------------------------------------------------------------- Azure
# Built-in role ids (Azure docs, "Azure built-in roles", Storage).
_BLOB_ROLES = {
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "read",  # Storage Blob Data Reader
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "write",  # Storage Blob Data Contributor
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "write",  # Storage Blob Data Owner
}
_CONTAINER_SCOPE = re.compile(r"/storageAccounts/(?P<account>[^/]+)/blobServices/default/containers/(?P<container>[^/]+)$")


class AzureReader(CloudReader):
    cloud = "azure"
    pool_type = "azure-native:containerservice:AgentPool"
    pool_component = "lepton:azure:GpuNodePool"
    cluster_type = "azure-native:containerservice:ManagedCluster"
    data_bearing = (
        "azure-native:resources:ResourceGroup",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Key",
        "azure-native:containerregistry:Registry",
    )

    def scheduling(self, pool):
        return frozenset(map(_aks_taint, pool.inputs.get("nodeTaints", []))), dict(pool.inputs.get("nodeLabels", {}))

    def endpoint(self, plan):
        access = plan.one(self.cluster_type).inputs.get("apiServerAccessProfile", {})
        public = not access.get("enablePrivateCluster", False)
        return Endpoint(public, tuple(access.get("authorizedIPRanges") or [OPEN_TO_INTERNET]) if public else ())

    def _zone_container(self, cell, zone):
        return cell.plan.one("azure-native:storage:BlobContainer", f"{cell.name}-lake-{zone}")

    def _account_of(self, cell, container):
        accounts = cell.plan.of_type("azure-native:storage:StorageAccount")
        return _one((a for a in accounts if a.outputs["name"] == container.inputs["accountName"]), "storage account")

    def grants(self, cell, annotations):
        plan = cell.plan
        identity = _one(
            (i for i in plan.of_type("azure-native:managedidentity:UserAssignedIdentity")
             if i.outputs["clientId"] == annotations["azure.workload.identity/client-id"]),
            "managed identity",
        )
        containers = {}
        for zone in cell.cell_spec.data_lake.zones:
            container = self._zone_container(cell, zone)
            containers[(self._account_of(cell, container).outputs["name"], container.inputs["containerName"])] = zone
        found = []
        for assignment in plan.of_type("azure-native:authorization:RoleAssignment"):
            if assignment.inputs["principalId"] != identity.outputs["principalId"]:
                continue
            scope, role = assignment.inputs["scope"], assignment.inputs["roleDefinitionId"].rsplit("/", 1)[1]
            match = _CONTAINER_SCOPE.search(scope)
            on = containers.get((match["account"], match["container"]), scope) if match else scope
            found.append(Grant(on, _BLOB_ROLES.get(role, f"role {role}")))
        return found

    def zone_key(self, cell, zone):
        account = self._account_of(cell, self._zone_container(cell, zone))
        encryption = account.inputs.get("encryption", {})
        if encryption.get("keySource") != "Microsoft.Keyvault":
            return None
        key_name = encryption["keyVaultProperties"]["keyName"]
        return next((k for k in cell.plan.of_type("azure-native:keyvault:Key") if k.outputs["name"] == key_name), None)

    def zone_public_access_blocked(self, cell, zone):
        container = self._zone_container(cell, zone)
        account = self._account_of(cell, container)
        return account.inputs.get("allowBlobPublicAccess") is False and container.inputs.get("publicAccess") == "None"


def _aks_taint(spelled: str) -> Taint:
    """key=value:Effect (or key:Effect), as AKS spells a node taint."""
    key_value, effect = spelled.rsplit(":", 1)
    key, _, value = key_value.partition("=")
    return Taint(key, value, effect)


# --------------------------------------------------------------------------------------------------- GCP
_BUCKET_ROLES = {
    "roles/storage.objectViewer": "read",
    "roles/storage.objectUser": "write",
    "roles/storage.objectCreator": "write",
    "roles/storage.objectAdmin": "write",
    "roles/storage.admin": "write",
}


class GcpReader(CloudReader):
    cloud = "gcp"
    pool_type = "gcp:container/nodePool:NodePool"
    pool_component = "lepton:gcp:GpuNodePool"
    cluster_type = "gcp:container/cluster:Cluster"
    data_bearing = (
        "gcp:storage/bucket:Bucket",
        "gcp:kms/keyRing:KeyRing",
        "gcp:kms/cryptoKey:CryptoKey",
        "gcp:bigquery/dataset:Dataset",
        "gcp:artifactregistry/repository:Repository",
    )

    def scheduling(self, pool):
        config = pool.inputs.get("nodeConfig", {})
        taints = frozenset(Taint(t["key"], t.get("value", ""), _kubernetes_effect(t["effect"])) for t in config.get("taints", []))
        return taints, dict(config.get("labels", {}))

    def endpoint(self, plan):
        cluster = plan.one(self.cluster_type).inputs
        public = not cluster.get("privateClusterConfig", {}).get("enablePrivateEndpoint", False)
        if not public:
            return Endpoint(False, ())
        networks = cluster.get("masterAuthorizedNetworksConfig")
        if networks is None:
            return Endpoint(True, (OPEN_TO_INTERNET,))
        cidrs = [block["cidrBlock"] for block in networks.get("cidrBlocks", [])]
        if networks.get("gcpPublicCidrsAccessEnabled", True):  # unset: read as admitting them (the cautious reading)
            cidrs.append("<Google Cloud public IPs>")
        return Endpoint(True, tuple(cidrs))

    def _zone_bucket(self, cell, zone):
        return cell.plan.one("gcp:storage/bucket:Bucket", f"{cell.name}-lake-{zone}")

    def grants(self, cell, annotations):
        member = f"serviceAccount:{annotations['iam.gke.io/gcp-service-account']}"
        buckets = {self._zone_bucket(cell, zone).outputs["name"]: zone for zone in cell.cell_spec.data_lake.zones}
        found = []
        for resource in cell.plan.resources:
            inputs = resource.inputs
            if not resource.type.startswith("gcp:") or member not in [inputs.get("member"), *(inputs.get("members") or [])]:
                continue
            if resource.type == "gcp:storage/bucketIAMMember:BucketIAMMember" and inputs["bucket"] in buckets:
                found.append(Grant(buckets[inputs["bucket"]], _BUCKET_ROLES.get(inputs["role"], inputs["role"])))
            else:
                found.append(Grant(f"{resource.type} {resource.name}", inputs.get("role", "unknown")))
        return found

    def zone_key(self, cell, zone):
        key_id = self._zone_bucket(cell, zone).inputs.get("encryption", {}).get("defaultKmsKeyName")
        return next((k for k in cell.plan.of_type("gcp:kms/cryptoKey:CryptoKey") if k.outputs["id"] == key_id), None)

    def zone_public_access_blocked(self, cell, zone):
        return self._zone_bucket(cell, zone).inputs.get("publicAccessPrevention") == "enforced"


READERS: dict[str, CloudReader] = {reader.cloud: reader for reader in (AwsReader(), AzureReader(), GcpReader())}
