"""Moved to :mod:`lepton_infra.testing`; this name stays so programs written against lepton-infra 0.1 keep working."""

from .testing import *  # noqa: F401,F403
from .testing import __all__  # noqa: F401
