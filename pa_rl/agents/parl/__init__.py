"""PA-RL: Sobol Mark et al., "Policy Agnostic RL: Offline RL and Online RL
Fine-Tuning of Any Class and Backbone", 2024."""

from pa_rl.agents.parl.builder import PARLBuilder
from pa_rl.agents.parl.config import ActorCriticConfig, PARLConfig
from pa_rl.agents.parl.learning import PARLLearner
from pa_rl.agents.parl.networks import make_networks
