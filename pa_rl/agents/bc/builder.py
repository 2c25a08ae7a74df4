"""Imitation builder."""

from pa_rl.agents import builder
from pa_rl.agents.bc import learning


class ImitationBuilder(builder.Builder):

  @staticmethod
  def objective_for(config):
    return learning.OBJECTIVE
