"""IQL learner: expectile V, TD Q, advantage-weighted policy."""

from pa_rl.agents import learner
from pa_rl.agents import update

OBJECTIVE = update.Objective(critic="iql", policy="awr")


class IQLLearner(learner.Learner):

  def __init__(self, networks, config, dataset, **kwargs):
    super().__init__(networks, config, OBJECTIVE, dataset, **kwargs)
