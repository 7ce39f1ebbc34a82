"""Each rule, on every cloud it covers: a set of resources that passes it, and the same set changed to break it; the
violation names the rule and the resource and says what is wrong and what would be right."""

from __future__ import annotations

import json

import pytest

from lepton_infra.policy import RULES, check
from policy_cases import (
    BUCKET, DIGEST, KEY, PROTECTED, UNPROTECTED, azure_lake, changed, deployment, gcs_bucket, resource, s3_bucket,
)

RULE = {rule.name: rule for rule in RULES}


def violations(rule: str, resources, stack=PROTECTED):
    return check(resources, stack, rules=[RULE[rule]])


def assert_breaks(rule: str, resources, urn_of: str, *words: str, stack=PROTECTED):
    found = violations(rule, resources, stack)
    assert found, f"{rule} passed a set that breaks it"
    hit = [v for v in found if v.urn.endswith(f"::{urn_of}")]
    assert hit, f"{rule}: violations on {[v.urn for v in found]}, expected one on {urn_of}"
    assert all(v.rule == rule and v.enforcement == "mandatory" and "right:" in v.message for v in hit)
    for word in words:
        assert any(word in v.message for v in hit), (word, [v.message for v in hit])


def test_every_rule_has_a_unique_name_and_a_description():
    assert len(RULE) == len(RULES) == 11
    assert all(rule.description and rule.scope in ("resource", "stack") for rule in RULES)


# --- customer-managed encryption -------------------------------------------------------------------------------

ECR = resource("aws:ecr/repository:Repository", "ecr", {"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY}]}, True)
LOGS = resource("aws:cloudwatch/logGroup:LogGroup", "logs", {"kmsKeyId": KEY}, True)
ACR = resource("azure-native:containerregistry:Registry", "acr", {
    "encryption": {"status": "enabled", "keyVaultProperties": {"keyIdentifier": "https://v.vault.azure.net/keys/acr", "identity": "id"}},
}, True)
BQ = resource("gcp:bigquery/dataset:Dataset", "bq", {"defaultEncryptionConfiguration": {"kmsKeyName": "k"}}, True)
AR = resource("gcp:artifactregistry/repository:Repository", "ar", {"kmsKeyName": "k"}, True)
TRAIL = resource("aws:cloudtrail/trail:Trail", "trail", {"kmsKeyId": KEY, "enableLogFileValidation": True}, True)
LOG_BUCKET = resource("gcp:logging/projectBucketConfig:ProjectBucketConfig", "log-bucket", {"cmekSettings": {"kmsKeyName": "k"}}, True)
# Log Analytics: under Microsoft-managed keys by design (a customer key needs a dedicated cluster), named in the rule.
WORKSPACE = resource("azure-native:operationalinsights:Workspace", "workspace", {"retentionInDays": 365}, True)
ENCRYPTED = [*s3_bucket(), ECR, LOGS, *azure_lake(), ACR, *gcs_bucket(), BQ, AR, TRAIL, LOG_BUCKET, WORKSPACE]


def test_encryption_passes_customer_managed_keys_on_every_cloud():
    assert violations("customer-managed-encryption", ENCRYPTED) == []


@pytest.mark.parametrize("name, change, words", [
    ("bucket-encryption", lambda i: i["rules"][0]["applyServerSideEncryptionByDefault"].update(sseAlgorithm="AES256", kmsMasterKeyId=None), ("AES256",)),
    ("bucket-encryption", lambda i: i.update(bucket="another-bucket"), ("no default encryption",)),
    ("ecr", lambda i: i.pop("encryptionConfigurations"), ("ECR",)),
    ("logs", lambda i: i.pop("kmsKeyId"), ("kmsKeyId",)),
    ("account", lambda i: i["encryption"].update(keySource="Microsoft.Storage"), ("Microsoft.Keyvault",)),
    ("acr", lambda i: i.pop("encryption"), ("keyIdentifier",)),
    ("gcs", lambda i: i.pop("encryption"), ("defaultKmsKeyName",)),
    ("bq", lambda i: i.pop("defaultEncryptionConfiguration"), ("kmsKeyName",)),
    ("ar", lambda i: i.pop("kmsKeyName"), ("kmsKeyName",)),
    ("trail", lambda i: i.pop("kmsKeyId"), ("CloudTrail", "kmsKeyId")),
    ("log-bucket", lambda i: i.pop("cmekSettings"), ("Cloud Logging", "cmekSettings.kmsKeyName")),
])
def test_encryption_breaks_without_a_customer_managed_key(name, change, words):
    urn_of = {"bucket-encryption": "bucket"}.get(name, name)
    assert_breaks("customer-managed-encryption", changed(ENCRYPTED, name, change), urn_of, *words)


def test_log_analytics_is_a_named_exception_not_an_oversight():
    from lepton_infra.policy import encryption

    assert set(encryption.MICROSOFT_KEYED) == {"azure-native:operationalinsights:Workspace"}
    assert any("Log Analytics" in line and "dedicated" in line for line in encryption.RULE.not_covered)


def test_an_access_log_bucket_may_use_sse_s3_and_nothing_less():
    logs = changed(s3_bucket(), "bucket-encryption", lambda i: i["rules"][0].update(applyServerSideEncryptionByDefault={"sseAlgorithm": "AES256"}))
    logs.append(resource("aws:s3/bucketLogging:BucketLogging", "logging", {"bucket": "other", "targetBucket": BUCKET}))
    assert violations("customer-managed-encryption", logs) == []
    unencrypted = [r for r in logs if r.name != "bucket-encryption"]
    assert_breaks("customer-managed-encryption", unencrypted, "bucket", "AES256")


# --- no public data ------------------------------------------------------------------------------------------------

PUBLIC_CASES = [*s3_bucket(), *azure_lake(), *gcs_bucket(), ACR,
                resource("gcp:storage/bucketIAMMember:BucketIAMMember", "grant", {"member": "serviceAccount:a@p.iam.gserviceaccount.com"})]


def test_private_data_passes():
    assert violations("no-public-data", PUBLIC_CASES) == []


@pytest.mark.parametrize("name, urn_of, change, word", [
    ("bucket-pab", "bucket", lambda i: i.update(restrictPublicBuckets=False), "restrictPublicBuckets"),
    ("bucket", "bucket", lambda i: i.update(acl="public-read"), "public-read"),
    ("account", "account", lambda i: i.update(allowBlobPublicAccess=True), "allowBlobPublicAccess"),
    ("raw", "raw", lambda i: i.update(publicAccess="Blob"), "publicAccess"),
    ("acr", "acr", lambda i: i.update(anonymousPullEnabled=True), "anonymous"),
    ("gcs", "gcs", lambda i: i.update(publicAccessPrevention="inherited"), "publicAccessPrevention"),
    ("grant", "grant", lambda i: i.update(member="allUsers"), "allUsers"),
])
def test_public_data_breaks(name, urn_of, change, word):
    assert_breaks("no-public-data", changed(PUBLIC_CASES, name, change), urn_of, word)


# --- TLS only ------------------------------------------------------------------------------------------------------

def test_tls_only_passes_and_gcs_needs_nothing():
    assert violations("tls-only-access", [*s3_bucket(), *azure_lake(), *gcs_bucket()]) == []


@pytest.mark.parametrize("name, urn_of, change, word", [
    ("bucket-policy", "bucket", lambda i: i.update(policy=i["policy"].replace('"false"', '"true"')), "aws:SecureTransport"),
    ("bucket-policy", "bucket", lambda i: i.update(policy=json.dumps({"Statement": []})), "plain HTTP"),
    ("account", "account", lambda i: i.update(minimumTlsVersion="TLS1_0"), "TLS1_2"),
    ("account", "account", lambda i: i.update(enableHttpsTrafficOnly=False), "enableHttpsTrafficOnly"),
])
def test_plain_http_breaks(name, urn_of, change, word):
    assert_breaks("tls-only-access", changed([*s3_bucket(), *azure_lake()], name, change), urn_of, word)


# --- versioning ----------------------------------------------------------------------------------------------------

def test_versioned_buckets_pass():
    assert violations("data-versioning", [*s3_bucket(), *azure_lake(), *gcs_bucket()]) == []


@pytest.mark.parametrize("name, urn_of, change, word", [
    ("bucket-versioning", "bucket", lambda i: i["versioningConfiguration"].update(status="Suspended"), "Suspended"),
    ("gcs", "gcs", lambda i: i.update(versioning={"enabled": False}), "versioning.enabled"),
    ("blob-service", "account", lambda i: i["deleteRetentionPolicy"].update(enabled=False), "deleteRetentionPolicy"),
])
def test_unversioned_buckets_break(name, urn_of, change, word):
    assert_breaks("data-versioning", changed([*s3_bucket(), *azure_lake(), *gcs_bucket()], name, change), urn_of, word)


def test_an_azure_account_without_hierarchical_namespace_needs_blob_versioning():
    flat = changed(azure_lake(), "account", lambda i: i.update(isHnsEnabled=False))
    assert_breaks("data-versioning", flat, "account", "isVersioningEnabled")
    assert violations("data-versioning", changed(flat, "blob-service", lambda i: i.update(isVersioningEnabled=True))) == []


# --- data protected ------------------------------------------------------------------------------------------------

DATA = [r for r in [*s3_bucket(), ECR, LOGS, *azure_lake(), ACR, *gcs_bucket(), BQ, AR, LOG_BUCKET, WORKSPACE] if r.protect]


def test_protected_data_passes_and_unprotected_environments_need_no_protect():
    assert violations("data-protected", DATA) == []
    unprotected = [resource(r.type, r.name, dict(r.inputs)) for r in DATA]
    assert violations("data-protected", unprotected, UNPROTECTED) == []


@pytest.mark.parametrize("index", range(len(DATA)), ids=lambda i: DATA[i].type)
def test_unprotected_data_in_a_protected_environment_breaks(index):
    r = DATA[index]
    assert_breaks("data-protected", [resource(r.type, r.name, dict(r.inputs))], r.name, "protect")


# --- private cluster endpoints -------------------------------------------------------------------------------------

CLUSTERS = [
    resource("aws:eks/cluster:Cluster", "eks", {"vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False}}),
    resource("azure-native:containerservice:ManagedCluster", "aks", {"apiServerAccessProfile": {"enablePrivateCluster": True}}),
    resource("gcp:container/cluster:Cluster", "gke", {"privateClusterConfig": {"enablePrivateEndpoint": True, "enablePrivateNodes": True}}),
]


def test_private_endpoints_pass_and_unprotected_environments_may_be_public():
    assert violations("private-cluster-endpoint", CLUSTERS) == []
    public = changed(CLUSTERS, "eks", lambda i: i["vpcConfig"].update(endpointPublicAccess=True))
    assert violations("private-cluster-endpoint", public, UNPROTECTED) == []


@pytest.mark.parametrize("name, change, word", [
    ("eks", lambda i: i["vpcConfig"].update(endpointPublicAccess=True), "endpointPublicAccess"),
    ("aks", lambda i: i.pop("apiServerAccessProfile"), "enablePrivateCluster"),
    ("gke", lambda i: i["privateClusterConfig"].update(enablePrivateEndpoint=False), "enablePrivateEndpoint"),
])
def test_public_endpoints_in_a_protected_environment_break(name, change, word):
    assert_breaks("private-cluster-endpoint", changed(CLUSTERS, name, change), name, word)


# --- mesh mTLS -----------------------------------------------------------------------------------------------------

PROVIDER = "urn:pulumi:prod::p::pulumi:providers:kubernetes::k"
MESH = [
    resource("kubernetes:helm.sh/v3:Release", "istiod", {"chart": "istiod", "namespace": "istio-system"}, provider=PROVIDER),
    resource("kubernetes:security.istio.io/v1:PeerAuthentication", "mtls", {
        "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "STRICT"}},
    }, provider=PROVIDER),
]


def test_a_mesh_wide_strict_peer_authentication_passes():
    assert violations("mesh-mtls-strict", MESH) == []


@pytest.mark.parametrize("name, urn_of, change, word", [
    ("mtls", "mtls", lambda i: i["spec"]["mtls"].update(mode="PERMISSIVE"), "PERMISSIVE"),
    ("mtls", "istiod", lambda i: i["metadata"].update(namespace="models"), "no mesh-wide STRICT"),
    ("mtls", "mtls", lambda i: i["spec"].update(portLevelMtls={"8080": {"mode": "DISABLE"}}), "DISABLE"),
])
def test_weaker_mtls_breaks(name, urn_of, change, word):
    assert_breaks("mesh-mtls-strict", changed(MESH, name, change), urn_of, word)


def test_a_strict_policy_in_another_cluster_does_not_count():
    other = [MESH[0], resource(MESH[1].type, "mtls", dict(MESH[1].inputs), provider="urn:other")]
    assert_breaks("mesh-mtls-strict", other, "istiod", "no mesh-wide STRICT")


# --- container hardening and GPU scheduling -------------------------------------------------------------------------

def test_a_hardened_gpu_deployment_and_a_cpu_one_pass():
    for d in (deployment(gpus=1), deployment(gpus=0)):
        assert violations("container-hardening", [d]) == []
        assert violations("gpu-scheduling", [d]) == []


@pytest.mark.parametrize("change, word", [
    (lambda i: i["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot"), "root"),
    (lambda i: i["spec"]["template"]["spec"]["containers"][0]["securityContext"].update(runAsUser=0), "root"),
    (lambda i: i["spec"]["template"]["spec"]["containers"][0]["securityContext"].pop("readOnlyRootFilesystem"), "readOnlyRootFilesystem"),
    (lambda i: i["spec"]["template"]["spec"]["containers"][0]["resources"].pop("limits"), "limits"),
    (lambda i: i["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"].pop("memory"), "memory"),
])
def test_unhardened_containers_break(change, word):
    assert_breaks("container-hardening", changed([deployment()], "model", change), "model", word)


@pytest.mark.parametrize("change, word", [
    (lambda i: i["spec"]["template"]["spec"].pop("tolerations"), "tolerate"),
    (lambda i: [c["resources"][k].pop("nvidia.com/gpu") for c in i["spec"]["template"]["spec"]["containers"] for k in ("limits", "requests")], "requests no"),
])
def test_gpu_workloads_that_do_not_ask_or_tolerate_break(change, word):
    assert_breaks("gpu-scheduling", changed([deployment()], "model", change), "model", word)


# --- identity policies ----------------------------------------------------------------------------------------------

def role_policy(*statements) -> Resource:
    return resource("aws:iam/rolePolicy:RolePolicy", "role-policy", {"role": "r", "policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})})


READ_MODELS = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{BUCKET}/*"}
DESCRIBE = {"Effect": "Allow", "Action": ["autoscaling:DescribeAutoScalingGroups", "ec2:DescribeImages"], "Resource": "*"}
RESIZE = {"Effect": "Allow", "Action": ["autoscaling:SetDesiredCapacity"], "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/k": "owned"}}}


def test_named_actions_and_resources_pass():
    gcp_role = resource("gcp:projects/iAMCustomRole:IAMCustomRole", "role", {"permissions": ["storage.objects.get"]})
    azure_role = resource("azure-native:authorization:RoleDefinition", "def", {"permissions": [{"actions": ["Microsoft.Storage/storageAccounts/read"]}]})
    assert violations("no-wildcard-identity-policies", [role_policy(READ_MODELS, DESCRIBE, RESIZE), gcp_role, azure_role]) == []


@pytest.mark.parametrize("resource_, word", [
    (role_policy({**READ_MODELS, "Action": "s3:*"}), "s3:*"),
    (role_policy({**READ_MODELS, "Action": ["s3:Get*"]}), "s3:Get*"),
    (role_policy({**READ_MODELS, "Resource": "*"}), 'Resource "*"'),
    (role_policy({**READ_MODELS, "Resource": "arn:aws:s3:::*"}), 'Resource "*"'),
    (role_policy({**DESCRIBE, "Action": ["eks:DescribeNodegroup"]}), "eks:DescribeNodegroup"),
    (resource("azure-native:authorization:RoleDefinition", "role-policy", {"permissions": [{"actions": ["*"]}]}), "*"),
    (resource("gcp:projects/iAMCustomRole:IAMCustomRole", "role-policy", {"permissions": ["storage.*"]}), "storage.*"),
])
def test_wildcards_break(resource_, word):
    assert_breaks("no-wildcard-identity-policies", [resource_], "role-policy", word)


# --- images -------------------------------------------------------------------------------------------------------

def build(tag: str):
    return resource("docker-build:index:Image", "build", {"tags": [tag], "push": True})


def test_digests_and_content_tags_pass():
    assert violations("pinned-images", [deployment(), build("registry.example/serving:0.1.0-0b64f45aaeec")]) == []


@pytest.mark.parametrize("resource_, urn_of, word", [
    (deployment(image="registry.example/serving:latest"), "model", "latest"),
    (deployment(image="registry.example:5000/serving"), "model", "untagged"),
    (deployment(image="registry.example/serving:0.1.0"), "model", "does not name its content"),
    (build("registry.example/serving:latest"), "build", "latest"),
])
def test_mutable_image_references_break(resource_, urn_of, word):
    assert_breaks("pinned-images", [resource_], urn_of, word)
