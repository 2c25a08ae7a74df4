"""IQL: Kostrikov, Nair & Levine, "Offline Reinforcement Learning with Implicit
Q-Learning", ICLR 2022."""

from pa_rl.agents.iql.builder import IQLBuilder
from pa_rl.agents.iql.config import IQLConfig
from pa_rl.agents.iql.learning import IQLLearner
from pa_rl.agents.iql.networks import make_networks
