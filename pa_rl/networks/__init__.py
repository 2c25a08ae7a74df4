"""Haiku networks: policies and critics as dataclasses of pure functions.

Haiku is imported only under this package.
"""

from pa_rl.networks.autoregressive import make_autoregressive_policy
from pa_rl.networks.base import CriticNetwork
from pa_rl.networks.base import GuidanceFn
from pa_rl.networks.base import PolicyNetwork
from pa_rl.networks.configs import AutoregressivePolicyConfig
from pa_rl.networks.configs import DiffusionPolicyConfig
from pa_rl.networks.configs import DistributionalCriticConfig
from pa_rl.networks.configs import EncoderConfig
from pa_rl.networks.configs import EnsembleCriticConfig
from pa_rl.networks.configs import FlowPolicyConfig
from pa_rl.networks.configs import GaussianPolicyConfig
from pa_rl.networks.diffusion import make_diffusion_policy
from pa_rl.networks.distributional_critic import hl_gauss_target
from pa_rl.networks.distributional_critic import make_distributional_critic
from pa_rl.networks.distributional_critic import two_hot_target
from pa_rl.networks.ensemble_critic import make_ensemble_critic
from pa_rl.networks.flow import make_flow_policy
from pa_rl.networks.gaussian import make_gaussian_policy
from pa_rl.networks.registry import CRITICS
from pa_rl.networks.registry import POLICIES
from pa_rl.networks.registry import critic_config_class
from pa_rl.networks.registry import make_critic_network
from pa_rl.networks.registry import make_policy_network
from pa_rl.networks.registry import policy_config_class
