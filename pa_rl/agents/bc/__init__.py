"""Behaviour cloning of any policy class (Pomerleau, 1991; here with the
policy's own likelihood-style loss: Gaussian NLL, diffusion epsilon-MSE,
autoregressive token cross-entropy)."""

from pa_rl.agents.bc.builder import ImitationBuilder
from pa_rl.agents.bc.config import ImitationConfig
from pa_rl.agents.bc.learning import ImitationLearner
from pa_rl.agents.bc.networks import make_networks
