"""The platform spec: one typed, validated description of what a stack stands up.

Read from one structured stack config key (``lepton-platform:platform``) and validated before any resource is
registered, so a bad config is a clear error naming the field and what would be right, and nothing is created.
Components take these same models as their args: one source of truth for defaults and rules.

- common: what every cloud shares (errors, field types, GPU pools, models, registry, mesh, the cell's base);
- aws (azure, gcp): each cloud's cell with its own network, cluster and lake settings;
- global_metrics: where every cell's metrics meet (a receiving cell or an external remote-write endpoint);
- platform: the whole spec, its cells a union tagged by ``cloud``, and reading it from a stack.
"""

from .aws import *  # noqa: F401,F403
from .aws import __all__ as _aws
from .azure import *  # noqa: F401,F403
from .azure import __all__ as _azure
from .existing import *  # noqa: F401,F403
from .existing import __all__ as _existing
from .gcp import *  # noqa: F401,F403
from .gcp import __all__ as _gcp
from .common import *  # noqa: F401,F403
from .common import __all__ as _common
from .global_metrics import *  # noqa: F401,F403
from .global_metrics import __all__ as _global_metrics
from .platform import *  # noqa: F401,F403
from .platform import __all__ as _platform

__all__ = [*_common, *_global_metrics, *_aws, *_azure, *_gcp, *_existing, *_platform]
