"""The platform's one view of every cell's metrics (docs/design.md, "Observability"): where each cell's Prometheus
remote-writes its series, labelled with its ``cell`` and ``cloud`` (Prometheus's externalLabels).

Either one of the stack's cells receives (its Prometheus with the remote-write receiver on, reached by the other cells
over the mesh with mTLS), or an external remote-write endpoint does (Amazon Managed Prometheus, Grafana Cloud, Mimir,
Thanos receive...), its credentials a secret in stack config, never in the stack file.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from .common import PROMETHEUS_DURATION, DnsLabel, SpecIssues, Strict

# The secret stack config key holding the external endpoint's credentials (`pulumi config set --secret
# lepton-platform:metricsRemoteWriteCredentials '<json>'`): {"username", "password"} for basic auth, {"token"} for a
# bearer token, {"access_key_id", "secret_access_key"} for SigV4.
REMOTE_WRITE_CREDENTIALS_KEY = "metricsRemoteWriteCredentials"
# What each kind of authentication reads from that JSON object.
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "basic": ("username", "password"),
    "bearer": ("token",),
    "sigv4": ("access_key_id", "secret_access_key"),
    "none": (),
}


class GlobalMetricsCellSpec(Strict):
    """One cell of the stack holds the global view: its Prometheus receives every other cell's series."""

    kind: Literal["cell"] = "cell"
    cell: DnsLabel = Field(description="The receiving cell (a cell of this stack, with monitoring enabled).")
    retention: str = Field(
        "30d", pattern=PROMETHEUS_DURATION, description="How long the receiving Prometheus keeps every cell's samples."
    )
    storage_size: str = Field(
        "500Gi",
        pattern=r"^\d+(Gi|Ti)$",
        description="The receiving Prometheus's volume (replaces the cell's own monitoring.storage_size); Prometheus "
        "also stops at 85% of it (retentionSize), so the disk never fills before retention ends.",
    )


class SigV4Spec(Strict):
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="The endpoint's AWS region, e.g. us-east-1.")
    role_arn: str | None = Field(
        None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", description="A role the keys assume before signing."
    )


class GlobalMetricsRemoteWriteSpec(Strict):
    """An external remote-write endpoint holds the global view; every cell sends to it."""

    kind: Literal["remote_write"] = "remote_write"
    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$", description="The remote-write URL, https://...")
    allow_plaintext_http: bool = Field(
        False, description="A named opt-out: accept an http:// URL (samples and credentials travel unencrypted)."
    )
    auth: Literal["basic", "bearer", "sigv4", "none"] = Field(
        "basic",
        description=f"How Prometheus authenticates; the credentials are secret stack config "
        f"lepton-platform:{REMOTE_WRITE_CREDENTIALS_KEY} (JSON), kept in a Kubernetes Secret in each cell.",
    )
    sigv4: SigV4Spec | None = Field(None, description="With auth sigv4 (Amazon Managed Service for Prometheus).")

    @model_validator(mode="after")
    def _consistent(self) -> "GlobalMetricsRemoteWriteSpec":
        issues: list[tuple[tuple[str | int, ...], str]] = []
        if self.url.startswith("http://") and not self.allow_plaintext_http:
            issues.append((("url",), "must be https:// (or set allow_plaintext_http: true, a named opt-out)"))
        if (self.auth == "sigv4") != (self.sigv4 is not None):
            where = ("sigv4",) if self.auth == "sigv4" else ("auth",)
            issues.append((where, "auth sigv4 and the sigv4 settings (region) go together: set both or neither"))
        if issues:
            raise SpecIssues(issues)
        return self

    @property
    def credential_fields(self) -> tuple[str, ...]:
        return CREDENTIAL_FIELDS[self.auth]


GlobalMetricsSpec = Annotated[Union[GlobalMetricsCellSpec, GlobalMetricsRemoteWriteSpec], Field(discriminator="kind")]


__all__ = [
    "CREDENTIAL_FIELDS",
    "REMOTE_WRITE_CREDENTIALS_KEY",
    "GlobalMetricsCellSpec",
    "GlobalMetricsRemoteWriteSpec",
    "GlobalMetricsSpec",
    "SigV4Spec",
]
