"""Cal-QL: Nakamoto et al., "Cal-QL: Calibrated Offline RL Pre-Training for
Efficient Online Fine-Tuning", NeurIPS 2023."""

from pa_rl.agents.calql.builder import CalQLBuilder
from pa_rl.agents.calql.config import CalQLConfig
from pa_rl.agents.calql.learning import CalQLLearner
from pa_rl.agents.calql.networks import make_networks
