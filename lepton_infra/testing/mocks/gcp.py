"""Answers of the GCP provider (pulumi_gcp): resource ids, self links, emails and endpoints shaped as GCP gives them.

The project is the provider's ``gcp:project`` config (``PROJECT`` when unset); a region that is not a GCP region
(the harness's default region is AWS's us-east-1) is read as the provider's ``gcp:region`` (``DEFAULT_REGION``).
"""

from __future__ import annotations

import base64
import re
from typing import Callable

import pulumi

from ._shapes import fake_pem, hex_of, named

PREFIX = "gcp"
PROJECT = "lepton-dev-123456"
DEFAULT_REGION = "us-central1"
COMPUTE = "https://www.googleapis.com/compute/v1"
_GCP_REGION = re.compile(r"^[a-z]+(-[a-z]+)+\d+$")


def _config(key: str) -> str | None:
    return pulumi.Config("gcp").get(key)


def project(inputs=None) -> str:
    return (inputs or {}).get("project") or _config("project") or PROJECT


def project_number(project_id: str) -> str:
    return str(int(hex_of(project_id, 10), 16))[:12]


def gcp_region(region: str | None) -> str:
    if region and _GCP_REGION.match(region.lower()):
        return region.lower()
    return _config("region") or DEFAULT_REGION


def _numeric_id(name: str) -> str:
    return str(int(hex_of(name, 15), 16))[:19]


def _global(kind: str):
    def handler(m, name, inputs, region):
        physical, p = named(inputs, name), project(inputs)
        rid = f"projects/{p}/global/{kind}/{physical}"
        return rid, {"name": physical, "project": p, "selfLink": f"{COMPUTE}/{rid}", "numericId": _numeric_id(rid)}

    return handler


def _regional(kind: str):
    def handler(m, name, inputs, region):
        physical, p, r = named(inputs, name), project(inputs), gcp_region(inputs.get("region") or region)
        rid = f"projects/{p}/regions/{r}/{kind}/{physical}"
        extra = {"name": physical, "project": p, "region": r, "selfLink": f"{COMPUTE}/{rid}"}
        if kind == "subnetworks":
            cidr = str(inputs.get("ipCidrRange", "10.0.0.0/20"))
            extra["gatewayAddress"] = cidr.rsplit(".", 1)[0] + ".1"
        return rid, extra

    return handler


def _router_nat(m, name, inputs, region):
    physical, p, r = named(inputs, name), project(inputs), gcp_region(inputs.get("region") or region)
    return f"{p}/{r}/{inputs.get('router')}/{physical}", {"name": physical, "project": p, "region": r}


def _key_ring(m, name, inputs, region):
    physical, p = named(inputs, name), project(inputs)
    return f"projects/{p}/locations/{inputs.get('location')}/keyRings/{physical}", {"name": physical, "project": p}


def _crypto_key(m, name, inputs, region):
    physical = named(inputs, name)
    return f"{inputs.get('keyRing')}/cryptoKeys/{physical}", {"name": physical}


def _iam_member(parent_key: str):
    """IAM member resources: ids are <parent>/<role>/<member>, with the policy's etag."""

    def handler(m, name, inputs, region):
        rid = f"{inputs.get(parent_key)}/{inputs.get('role')}/{inputs.get('member')}"
        return rid, {"etag": f"BwY{hex_of(rid, 9)}="}

    return handler


def _service_account(m, name, inputs, region):
    p = project(inputs)
    email = f"{named(inputs, name, 'accountId')}@{p}.iam.gserviceaccount.com"
    rid = f"projects/{p}/serviceAccounts/{email}"
    return rid, {"email": email, "name": rid, "member": f"serviceAccount:{email}", "uniqueId": _numeric_id(email)[:21], "project": p}


def _cluster(m, name, inputs, region):
    physical, p, location = named(inputs, name), project(inputs), gcp_region(inputs.get("location") or region)
    private = (inputs.get("privateClusterConfig") or {}).get("enablePrivateEndpoint", False)
    public_ip = f"34.{int(hex_of(physical, 2), 16)}.{int(hex_of(physical + 'b', 2), 16)}.{int(hex_of(physical + 'c', 2), 16)}"
    private_ip = f"10.{int(hex_of(physical, 2), 16) % 200}.0.2"
    rid = f"projects/{p}/locations/{location}/clusters/{physical}"
    version = f"{inputs.get('minMasterVersion') or '1.35'}.2-gke.1127000"
    return rid, {
        "name": physical,
        "project": p,
        "location": location,
        "endpoint": private_ip if private else public_ip,
        "masterVersion": version,
        "selfLink": f"https://container.googleapis.com/v1/{rid}",
        "masterAuth": {
            **(inputs.get("masterAuth") or {}),
            "clusterCaCertificate": base64.b64encode(fake_pem(physical).encode()).decode(),
        },
        "privateClusterConfig": {
            **(inputs.get("privateClusterConfig") or {}),
            "privateEndpoint": private_ip,
            "publicEndpoint": "" if private else public_ip,
        },
    }


def _node_pool(m, name, inputs, region):
    physical = named(inputs, name)
    cluster = str(inputs.get("cluster", "cluster"))
    location = gcp_region(inputs.get("location") or region)
    group = f"gke-{cluster.rsplit('/', 1)[-1][:20]}-{physical[:10]}-{hex_of(name, 8)}-grp"
    url = f"{COMPUTE}/projects/{project(inputs)}/zones/{location}-a/instanceGroupManagers/{group}"
    return f"{cluster}/nodePools/{physical}", {
        "name": physical,
        "version": "1.35.2-gke.1127000",
        "instanceGroupUrls": [url],
        "managedInstanceGroupUrls": [url.replace("instanceGroupManagers", "instanceGroups")],
    }


def _bucket(m, name, inputs, region):
    physical = named(inputs, name)
    return physical, {
        "name": physical,
        "url": f"gs://{physical}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{physical}",
        "projectNumber": project_number(project(inputs)),
        "project": project(inputs),
    }


def _dataset(m, name, inputs, region):
    p, dataset = project(inputs), inputs.get("datasetId") or name.replace("-", "_")
    rid = f"projects/{p}/datasets/{dataset}"
    return rid, {"selfLink": f"https://bigquery.googleapis.com/bigquery/v2/{rid}", "project": p, "etag": hex_of(rid, 22)}


def _repository(m, name, inputs, region):
    p, location = project(inputs), gcp_region(inputs.get("location") or region)
    repository = inputs.get("repositoryId") or name
    rid = f"projects/{p}/locations/{location}/repositories/{repository}"
    return rid, {"name": repository, "project": p, "location": location, "registryUri": f"{location}-docker.pkg.dev/{p}/{repository}"}


def _log_bucket(m, name, inputs, region):
    p, location, bucket = project(inputs), inputs.get("location") or gcp_region(region), inputs.get("bucketId")
    return f"projects/{p}/locations/{location}/buckets/{bucket}", {"name": f"projects/{p}/locations/{location}/buckets/{bucket}", "lifecycleState": "ACTIVE"}


def _sink(m, name, inputs, region):
    physical, p = named(inputs, name), project(inputs)
    # A sink's writer identity: the project's Cloud Logging service account (https://cloud.google.com/logging/docs/export/configure_export_v2).
    return f"projects/{p}/sinks/{physical}", {"name": physical, "writerIdentity": f"serviceAccount:service-{project_number(p)}@gcp-sa-logging.iam.gserviceaccount.com"}


def _audit_config(m, name, inputs, region):
    p = project(inputs)
    return f"{p}/{inputs.get('service')}", {"project": p, "etag": f"BwX{hex_of(name, 9)}="}


def _with_id(handler: Callable[..., tuple[str, dict]]) -> Callable[..., tuple[str, dict]]:
    """Bridged (Terraform-based) resources carry their id among their outputs too, as pulumi_gcp's state shows."""

    def answer(m, name, inputs, region):
        rid, outputs = handler(m, name, inputs, region)
        return rid, {**outputs, "id": rid}

    return answer


def _ha_vpn_gateway(m, name, inputs, region):
    """Two interfaces, each with its own Google address (HA VPN)."""
    rid, extra = _regional("vpnGateways")(m, name, inputs, region)
    interfaces = [{"id": i, "ipAddress": f"35.{int(hex_of(name, 2), 16)}.{int(hex_of(name + str(i), 2), 16)}.{10 + i}"} for i in range(2)]
    return rid, {**extra, "vpnInterfaces": interfaces}


def _router_child(m, name, inputs, region):
    physical, p, r = named(inputs, name), project(inputs), gcp_region(inputs.get("region") or region)
    return f"projects/{p}/regions/{r}/routers/{inputs.get('router')}/{physical}", {"name": physical, "project": p, "region": r}


_HANDLERS: dict[str, Callable[..., tuple[str, dict]]] = {
    "gcp:compute/haVpnGateway:HaVpnGateway": _ha_vpn_gateway,
    "gcp:compute/externalVpnGateway:ExternalVpnGateway": _global("externalVpnGateways"),
    "gcp:compute/vPNTunnel:VPNTunnel": _regional("vpnTunnels"),
    "gcp:compute/routerInterface:RouterInterface": _router_child,
    "gcp:compute/routerPeer:RouterPeer": _router_child,
    "gcp:compute/firewall:Firewall": _global("firewalls"),
    "gcp:compute/network:Network": _global("networks"),
    "gcp:compute/subnetwork:Subnetwork": _regional("subnetworks"),
    "gcp:compute/router:Router": _regional("routers"),
    "gcp:compute/routerNat:RouterNat": _router_nat,
    "gcp:kms/keyRing:KeyRing": _key_ring,
    "gcp:kms/cryptoKey:CryptoKey": _crypto_key,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _iam_member("cryptoKeyId"),
    "gcp:serviceaccount/account:Account": _service_account,
    "gcp:serviceaccount/iAMMember:IAMMember": _iam_member("serviceAccountId"),
    "gcp:projects/iAMMember:IAMMember": _iam_member("project"),
    "gcp:container/cluster:Cluster": _cluster,
    "gcp:container/nodePool:NodePool": _node_pool,
    "gcp:storage/bucket:Bucket": _bucket,
    "gcp:storage/bucketIAMMember:BucketIAMMember": _iam_member("bucket"),
    "gcp:bigquery/dataset:Dataset": _dataset,
    "gcp:artifactregistry/repository:Repository": _repository,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": _iam_member("repository"),
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": _log_bucket,
    "gcp:logging/projectSink:ProjectSink": _sink,
    "gcp:projects/iAMAuditConfig:IAMAuditConfig": _audit_config,
}
RESOURCES = {token: _with_id(handler) for token, handler in _HANDLERS.items()}


def _client_config(m, args, region):
    r = gcp_region(region)
    return {
        "project": project(),
        "region": r,
        "zone": f"{r}-a",
        # An OAuth 2.0 access token has this shape (ya29. + opaque characters); it is never a real one here.
        "accessToken": f"ya29.offline-{hex_of(project() + r, 40)}",
        "defaultLabels": {},
        "id": f"projects/{project()}/regions/{r}/zones/{r}-a",
    }


def _project(m, args, region):
    p = args.get("projectId") or project()
    return {"projectId": p, "number": project_number(p), "name": p, "id": f"projects/{p}", "labels": {}}


def _agent(email_of: Callable[[str], str], key: str):
    def handler(m, args, region):
        p = args.get("project") or project()
        email = email_of(project_number(p))
        return {key: email, "member": f"serviceAccount:{email}", "project": p, "id": email}

    return handler


INVOKES: dict[str, Callable[..., dict]] = {
    "gcp:organizations/getClientConfig:getClientConfig": _client_config,
    "gcp:organizations/getProject:getProject": _project,
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": _agent(
        lambda n: f"service-{n}@gs-project-accounts.iam.gserviceaccount.com", "emailAddress"
    ),
    # Storage Transfer Service's service agent (https://cloud.google.com/storage-transfer/docs/source-cloud-storage).
    "gcp:storage/getTransferProjectServiceAccount:getTransferProjectServiceAccount": _agent(
        lambda n: f"project-{n}@storage-transfer-service.iam.gserviceaccount.com", "email"
    ),
    "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount": _agent(
        lambda n: f"bq-{n}@bigquery-encryption.iam.gserviceaccount.com", "email"
    ),
    # The account Cloud Logging encrypts CMEK log buckets as (Cloud Logging API, CmekSettings.serviceAccountId).
    "gcp:logging/getProjectCmekSettings:getProjectCmekSettings": _agent(
        lambda n: f"service-{n}@gcp-sa-logging.iam.gserviceaccount.com", "serviceAccountId"
    ),
}
