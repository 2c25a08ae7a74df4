"""Environments as `dm_env.Environment`s, and the policies that collect data.

Every environment made here has dict observations of float32 arrays, a
float32 `BoundedArray` action spec, and ends episodes the dm_env way:
termination with discount 0, truncation (time limit) with discount 1.

  env = make_environment("two_routes", seed=0)
  policy = make_behaviour_policy("two_routes", env, kind="mixed", seed=0)
  timestep = env.reset(); policy.begin_episode()
  while not timestep.last():
    timestep = env.step(policy.select_action(timestep.observation))
  episode_success(env)  # True / False; None where a task has no success
"""

from pa_rl.environments.behaviour import BehaviourPolicy
from pa_rl.environments.behaviour import GoalSegmentsPolicy
from pa_rl.environments.behaviour import MixedPolicy
from pa_rl.environments.behaviour import NoisyPolicy
from pa_rl.environments.behaviour import RandomPolicy
from pa_rl.environments.dmc import DMControlWrapper
from pa_rl.environments.dmc import load_dm_control
from pa_rl.environments.experts import expert_names
from pa_rl.environments.experts import has_expert
from pa_rl.environments.experts import make_behaviour_policy
from pa_rl.environments.experts import make_expert
from pa_rl.environments.experts import register_expert
from pa_rl.environments.experts import TwoRoutesExpert
from pa_rl.environments.gym_wrapper import GymnasiumWrapper
from pa_rl.environments.registry import make_environment
from pa_rl.environments.registry import register_environment
from pa_rl.environments.registry import registered_environments
from pa_rl.environments.success import episode_success
from pa_rl.environments.two_routes import TwoRoutes

__all__ = [
    "BehaviourPolicy",
    "DMControlWrapper",
    "GymnasiumWrapper",
    "GoalSegmentsPolicy",
    "MixedPolicy",
    "NoisyPolicy",
    "RandomPolicy",
    "TwoRoutes",
    "TwoRoutesExpert",
    "episode_success",
    "expert_names",
    "has_expert",
    "load_dm_control",
    "make_behaviour_policy",
    "make_environment",
    "make_expert",
    "register_environment",
    "register_expert",
    "registered_environments",
]
