"""Cal-QL builder."""

from pa_rl.agents import builder
from pa_rl.agents.calql import learning


class CalQLBuilder(builder.Builder):

  @staticmethod
  def objective_for(config):
    return learning.OBJECTIVE
