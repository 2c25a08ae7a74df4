"""Library runners behind the binaries (no gin here; see `pa_rl.gin_registration`).

  train_offline(workdir, dataset_path, agent_type=..., ...)   # resumable
  finetune_online(workdir, offline_workdir, num_episodes=...)  # resumable
  evaluate(workdir, num_episodes=...)   # JSON, learning-curve PNG, rollout GIF
"""

from pa_rl.runners.evaluation import evaluate
from pa_rl.runners.offline import train_offline
from pa_rl.runners.online import finetune_online
from pa_rl.runners.spec import AGENTS, ExperimentSpec, read_spec

__all__ = ["AGENTS", "ExperimentSpec", "evaluate", "finetune_online", "read_spec",
           "train_offline"]
