"""SAC builder."""

from pa_rl.agents import builder
from pa_rl.agents.sac import learning


class SACBuilder(builder.Builder):

  @staticmethod
  def objective_for(config):
    return learning.OBJECTIVE
