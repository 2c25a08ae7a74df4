"""IQL builder."""

from pa_rl.agents import builder
from pa_rl.agents.iql import learning


class IQLBuilder(builder.Builder):

  @staticmethod
  def objective_for(config):
    return learning.OBJECTIVE
