"""Imitation learner: the shared learner with the behaviour-cloning objective."""

from pa_rl.agents import learner
from pa_rl.agents import update

OBJECTIVE = update.Objective(critic="none", policy="bc")


class ImitationLearner(learner.Learner):
  """`Learner` that minimizes the policy's own loss on the data actions."""

  def __init__(self, networks, config, dataset, **kwargs):
    super().__init__(networks, config, OBJECTIVE, dataset, **kwargs)
