"""PA-RL learner: critic (Cal-QL or IQL) + distillation of optimized actions."""

from pa_rl.agents import learner
from pa_rl.agents import update


def objective(config) -> update.Objective:
  return update.Objective(critic=config.critic_objective, policy="distill")


class PARLLearner(learner.Learner):

  def __init__(self, networks, config, dataset, **kwargs):
    super().__init__(networks, config, objective(config), dataset, **kwargs)
