"""SAC learner: soft TD critic, reparameterized Gaussian policy."""

from pa_rl.agents import learner
from pa_rl.agents import update

OBJECTIVE = update.Objective(critic="sac", policy="sac")


class SACLearner(learner.Learner):

  def __init__(self, networks, config, dataset, **kwargs):
    super().__init__(networks, config, OBJECTIVE, dataset, **kwargs)
