"""SAC: Haarnoja et al., "Soft Actor-Critic: Off-Policy Maximum Entropy Deep
Reinforcement Learning with a Stochastic Actor", ICML 2018.

Online RL from scratch with a Gaussian policy; the library uses it to train
the behaviour policies of its locomotion datasets.
"""

from pa_rl.agents.sac.builder import SACBuilder
from pa_rl.agents.sac.config import SACConfig
from pa_rl.agents.sac.learning import SACLearner
from pa_rl.agents.sac.networks import make_networks
