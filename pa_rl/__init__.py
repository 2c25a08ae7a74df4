"""lerobot-jax: Policy-Agnostic RL in JAX.

    import pa_rl as ljx
    dataset = ljx.OfflineDataset.load_from_path(path, normalize=True, seed=0)
    policy = ljx.create_policy_model("diffusion", 0, dataset.shape_meta, None)
    critic = ljx.create_q_critic("ensemble", 1, dataset.shape_meta, None)
    agent = ljx.create_agent("diffusion_rl", policy, critic, 2, None)
"""

from pa_rl.action_optimization import ActionOptimizationConfig
from pa_rl.agents import (ActorCriticAgent, Agent, CalQLAgent, DiffusionPolicyRLAgent,
                          IQLAgent, ImitationAgent, OfflineRLAgent, create_agent, to_online)
from pa_rl.core import PAModule
from pa_rl.datasets import OfflineDataset, ReplayBuffer, sample_mixed
from pa_rl.models import (AutoregressivePolicy, DiffusionPolicy, DistributionalQCritic,
                          EnsembleQCritic, GaussianPolicy, PolicyModel, QCritic,
                          create_policy_model, create_q_critic)
from pa_rl.types import ObsSpec, ShapeMeta, Transition

__version__ = "0.1.0"
