"""Cloud-neutral, in-cluster components: GPU runtime, Istio mesh, model deployment, and the serving image."""

from .gpu_runtime import NvidiaGpuRuntime, NvidiaGpuRuntimeArgs
from .mesh import IstioMesh, IstioMeshArgs
from .model_deployment import ModelDeployment, ModelDeploymentArgs
from .serving_image import ServingImage, ServingImageArgs

__all__ = [
    "IstioMesh",
    "IstioMeshArgs",
    "ModelDeployment",
    "ModelDeploymentArgs",
    "NvidiaGpuRuntime",
    "NvidiaGpuRuntimeArgs",
    "ServingImage",
    "ServingImageArgs",
]
