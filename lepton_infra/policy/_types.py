"""Resource type tokens the rules read, one place (the providers' own tokens, as in the plan and in CrossGuard)."""

S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"  # pulumi_aws 6's name; still accepted by pulumi_aws 7 as an alias
S3_BUCKETS = (S3_BUCKET, S3_BUCKET_V2)
S3_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
S3_ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
ECR_REPOSITORY = "aws:ecr/repository:Repository"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
CLOUDTRAIL_TRAIL = "aws:cloudtrail/trail:Trail"
IAM_POLICY_DOCUMENTS = {  # identity policies: attached to a principal, whose `policy` input is the document
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}

AZURE_STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
AZURE_BLOB_CONTAINER = "azure-native:storage:BlobContainer"
AZURE_BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
AZURE_REGISTRY = "azure-native:containerregistry:Registry"
AZURE_VAULT = "azure-native:keyvault:Vault"
AZURE_KEY = "azure-native:keyvault:Key"
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
AZURE_ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
LOG_ANALYTICS_WORKSPACE = "azure-native:operationalinsights:Workspace"

GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_BUCKET_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding")
BIGQUERY_DATASET = "gcp:bigquery/dataset:Dataset"
ARTIFACT_REPOSITORY = "gcp:artifactregistry/repository:Repository"
ARTIFACT_REPOSITORY_IAM = (
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
    "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding",
)
GCP_KMS_KEY = "gcp:kms/cryptoKey:CryptoKey"
GCP_KEY_RING = "gcp:kms/keyRing:KeyRing"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
GCP_LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
GCP_CUSTOM_ROLES = ("gcp:projects/iAMCustomRole:IAMCustomRole", "gcp:organizations/iAMCustomRole:IAMCustomRole")

# Workloads the platform emits (Helm releases render theirs at apply time: not visible to a plan or to CrossGuard).
WORKLOADS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:StatefulSet",
)
PEER_AUTHENTICATION = ("kubernetes:security.istio.io/v1:PeerAuthentication", "kubernetes:security.istio.io/v1beta1:PeerAuthentication")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
DOCKER_BUILD_IMAGE = "docker-build:index:Image"
