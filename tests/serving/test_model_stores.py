"""The serving image reads models from every cloud's lake through fsspec, with the credentials the pod's workload
identity gives it: the URIs the cells hand to model pods resolve to each store's filesystem, signed in (not anonymous)."""

from __future__ import annotations

import json

import pytest

from serving.model import _filesystem


@pytest.fixture
def google_default_credentials(tmp_path, monkeypatch):
    """Application default credentials, as google-auth finds them on a GKE pod (there through the metadata server
    that workload identity answers; here from a file, so nothing waits on a metadata server that is not there)."""
    adc = tmp_path / "adc.json"
    adc.write_text(json.dumps({"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))


def test_an_azure_lake_uri_opens_adls_with_the_default_azure_credential(monkeypatch):
    # What the Azure cell's identity binding puts in the pod's environment (components/azure/cell.py); the workload
    # identity webhook adds AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE, which this chain reads.
    monkeypatch.setenv("AZURE_STORAGE_ANON", "false")
    fs, path = _filesystem("abfs://models@prodlake.dfs.core.windows.net/llm/v1/model.pt")
    assert type(fs).__name__ == "AzureBlobFileSystem"
    assert fs.account_name == "prodlake" and fs.anon is False
    assert type(fs.credential).__name__ == "DefaultAzureCredential"  # includes WorkloadIdentityCredential
    assert path == "models/llm/v1/model.pt"


def test_a_gcp_lake_uri_opens_cloud_storage_with_the_default_google_credentials(google_default_credentials):
    fs, path = _filesystem("gs://prod-lake-models/llm/v1/model.pt")
    assert "GcsFileSystem" in type(fs).__name__
    assert fs.credentials.method == "google_default"  # signed in, not gcsfs's anonymous fallback
    assert path == "prod-lake-models/llm/v1/model.pt"


@pytest.mark.parametrize("uri", ["s3://lake/llm/model.pt", "gs://lake/llm/model.pt", "abfs://fs@acct.dfs.core.windows.net/m.pt"])
def test_every_cloud_store_the_cells_use_is_installed_with_the_serving_extras(uri, monkeypatch, google_default_credentials):
    monkeypatch.setenv("AZURE_STORAGE_ANON", "false")
    fs, _ = _filesystem(uri)
    assert fs.protocol  # resolved to a filesystem, not a LoadError naming a missing package
