"""Every cloud cell keeps an audit trail of its control plane and of its lake's data access, for as long as the
environment says, under a key, protected where the environment is (docs/design.md, "Audit"); an existing cluster's
audit policy is its owner's, so an existing cell has no audit settings."""

import pytest

from lepton_infra.policy import encryption
from lepton_infra.spec import PlatformSpec, SpecError

from cells_support import CELLS, GPU_POOL, MODEL, BuiltCell

# Where each cloud keeps its audit logs: (resource type, the retention input, a test of which resources it is), spelt
# here from the clouds' APIs rather than taken from the components.
AUDIT_STORES = {
    "aws": [
        (
            "aws:cloudwatch/logGroup:LogGroup",
            lambda r: r.inputs["retentionInDays"] if r.inputs["name"].startswith("/aws/eks/") else None,
            "the EKS control-plane log group",
        ),
        (
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            lambda r: r.inputs["rules"][0]["expiration"]["days"] if r.name.endswith("-lake-audit-logs-lifecycle") else None,
            "the lake's CloudTrail log bucket",
        ),
    ],
    "azure": [("azure-native:operationalinsights:Workspace", lambda r: r.inputs["retentionInDays"], "the Log Analytics workspace")],
    "gcp": [("gcp:logging/projectBucketConfig:ProjectBucketConfig", lambda r: r.inputs["retentionDays"], "the audit log bucket")],
}
# What turns the control plane's audit log and the lake's data-access log on, per cloud.
AUDIT_SOURCES = {
    "aws": {"aws:eks/cluster:Cluster": 1, "aws:cloudtrail/trail:Trail": 1},
    "azure": {"azure-native:monitor:DiagnosticSetting": 2},
    "gcp": {"gcp:projects/iAMAuditConfig:IAMAuditConfig": 2, "gcp:logging/projectSink:ProjectSink": 1},
}
WORKSPACE = "azure-native:operationalinsights:Workspace"
CUSTOMER_KEYED = {"aws": ("aws:cloudtrail/trail:Trail", "kmsKeyId"), "gcp": ("gcp:logging/projectBucketConfig:ProjectBucketConfig", "cmekSettings")}


def retentions(cell: BuiltCell) -> dict[str, list]:
    found = {}
    for kind, read, what in AUDIT_STORES[cell.cloud]:
        values = [v for r in cell.plan.of_type(kind) if (v := read(r)) is not None]
        assert values, f"{what} is missing"
        found[what] = values
    return found


def test_audit_logs_are_kept_a_year_in_protected_environments_and_30_days_elsewhere(cloud, protected, unprotected):
    assert all(v == [365] for v in retentions(protected).values()), retentions(protected)
    assert all(v == [30] for v in retentions(unprotected).values()), retentions(unprotected)


def test_audit_logs_are_turned_on_for_the_control_plane_and_the_lake(cloud, cell):
    for kind, count in AUDIT_SOURCES[cloud].items():
        assert len(cell.plan.of_type(kind)) == count, kind
    if cloud == "aws":
        assert "audit" in cell.plan.one("aws:eks/cluster:Cluster").inputs["enabledClusterLogTypes"]


def test_audit_stores_are_protected_in_protected_environments_only(cloud, protected, unprotected):
    for kind, read, what in AUDIT_STORES[cloud]:
        if kind.endswith("BucketLifecycleConfiguration"):  # the store is the bucket the lifecycle belongs to
            kind, read = "aws:s3/bucket:Bucket", lambda r: r.name.endswith("-lake-audit-logs") or None
        stores = lambda cell: [r for r in cell.plan.of_type(kind) if read(r) is not None]  # noqa: E731
        assert stores(protected) and all(r.protect and r.retain_on_delete for r in stores(protected)), what
        assert stores(unprotected) and not any(r.protect or r.retain_on_delete for r in stores(unprotected)), what


def test_audit_logs_are_under_a_customer_managed_key_where_the_cloud_allows_it(cloud, cell):
    if cloud not in CUSTOMER_KEYED:  # Log Analytics: Microsoft-managed keys, a named exception the policy knows of
        (workspace,) = cell.plan.of_type(WORKSPACE)
        assert "clusterResourceId" not in workspace.inputs["features"] and WORKSPACE in encryption.MICROSOFT_KEYED
        return
    kind, field = CUSTOMER_KEYED[cloud]
    assert all(r.inputs.get(field) for r in cell.plan.of_type(kind))


def _spec(cloud: str, protected: bool, audit: dict) -> dict:
    return {
        "environment": "prod" if protected else "dev",
        "protected": protected,
        "cells": [{**CELLS[cloud], "cluster": {"public_access_cidrs": ["203.0.113.0/24"]}, "gpu_pools": [GPU_POOL], "audit": audit}],
        "models": [MODEL],
    }


def test_a_protected_environment_refuses_less_than_a_year(cloud):
    with pytest.raises(SpecError) as error:
        PlatformSpec.model_validate(_spec(cloud, True, {"retention_days": 90}))
    assert [path for path, _ in error.value.issues] == ["cells[0].audit.retention_days"]
    assert PlatformSpec.model_validate(_spec(cloud, False, {"retention_days": 90})).cells[0].audit.retention(False) == 90


def test_an_existing_cell_has_no_audit_settings():
    spec = {"environment": "dev", "cells": [{"cloud": "existing", "name": "lab", "region": "lab", "audit": {}}]}
    with pytest.raises(SpecError) as error:
        PlatformSpec.model_validate(spec)
    assert any(path == "cells[0].audit" and "unknown key" in message for path, message in error.value.issues)
