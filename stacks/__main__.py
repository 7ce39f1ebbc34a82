"""lepton-platform: the Platform of the stack, a Cell per cell of its spec's spec (stacks/Pulumi.<stack>.yaml, key lepton-platform:platform)."""

from lepton_infra.composition import deploy
from lepton_infra.spec import load_platform_spec

spec = load_platform_spec()  # validated in full before any resource is registered
deploy(spec)  # the serving image is built from the serving/ sources installed with lepton-infra
