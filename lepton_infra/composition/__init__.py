"""The composition: cells built from each cloud's foundation and the cloud-neutral in-cluster layer, and the platform
above the cells. It sits above the components (which import only the core) and is what stacks/ calls."""

from .cell import MODELS_NAMESPACE, Cell
from .platform import Platform, deploy

__all__ = ["Cell", "MODELS_NAMESPACE", "Platform", "deploy"]
