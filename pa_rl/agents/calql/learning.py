"""Cal-QL learner: calibrated CQL critic, SAC-style policy."""

from pa_rl.agents import learner
from pa_rl.agents import update

OBJECTIVE = update.Objective(critic="calql", policy="sac")


class CalQLLearner(learner.Learner):

  def __init__(self, networks, config, dataset, **kwargs):
    super().__init__(networks, config, OBJECTIVE, dataset, **kwargs)
