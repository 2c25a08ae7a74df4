"""PA-RL builder (offline and online)."""

from pa_rl.agents import builder
from pa_rl.agents.parl import learning


class PARLBuilder(builder.Builder):

  @staticmethod
  def objective_for(config):
    return learning.objective(config)
