"""Scripted experts and `make_behaviour_policy`, the one entry point for
data-collecting policies.

Experts exist for ``two_routes``, gymnasium-robotics PointMaze (any maze) and
dm_control cartpole (balance and swing-up). Every other task still gets the
``random`` policy.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable, Mapping, Sequence

import dm_env
import numpy as np

from pa_rl.environments import behaviour
from pa_rl.environments import cartpole_expert
from pa_rl.environments import maze_expert
from pa_rl.environments import success as success_lib
from pa_rl.environments import two_routes

KINDS = ("expert", "noisy", "random", "segments", "mixed")
# The components of "mixed", in the order of a sequence ``mixture``.
MIXTURE_NAMES = ("expert", "noisy", "random", "segments")
# Default per-episode probabilities of (expert, noisy, random, segments) for
# "mixed".
DEFAULT_MIXTURE = (0.4, 0.3, 0.3, 0.0)

# factory(env, rng) -> BehaviourPolicy, keyed by an fnmatch pattern on names.
ExpertFactory = Callable[[dm_env.Environment, np.random.Generator],
                         behaviour.BehaviourPolicy]
_EXPERTS: dict[str, ExpertFactory] = {}


class TwoRoutesExpert(behaviour.BehaviourPolicy):
  """Goes round the obstacle of `two_routes`, left or right (50/50 per
  episode): first to a waypoint beside the obstacle, then to the goal.

  Actions are ``gain * (target - position)`` scaled down, direction kept,
  until every component is inside ``[-1, 1]``.

  Attributes:
    route: ``"left"`` or ``"right"``, the side of the current episode.
  """

  def __init__(self, rng: np.random.Generator, obstacle_radius: float = 0.35,
               clearance: float = 0.25, gain: float = 5.0,
               switch_distance: float = 0.15):
    """Builds the expert.

    Args:
      rng: draws the route of each episode.
      obstacle_radius: radius of the obstacle at the origin.
      clearance: the waypoint lies this far beyond the obstacle's edge.
      gain: proportional gain.
      switch_distance: head for the goal once this close to the waypoint
        (or once level with it).
    """
    super().__init__(rng)
    self.offset = float(obstacle_radius + clearance)
    self.gain = float(gain)
    self.switch_distance = float(switch_distance)
    self.route: str | None = None
    self._passed_waypoint = False

  def begin_episode(self) -> None:
    self.route = "left" if self.rng.random() < 0.5 else "right"
    self._passed_waypoint = False

  def select_action(self, observation: Mapping[str, Any]) -> np.ndarray:
    if self.route is None:
      self.begin_episode()
    position = np.asarray(observation["position"], np.float32)
    goal = np.asarray(observation["goal"], np.float32)
    side = -1.0 if self.route == "left" else 1.0
    waypoint = np.array([side * self.offset, two_routes.OBSTACLE_CENTER[1]],
                        np.float32)
    if (np.linalg.norm(waypoint - position) < self.switch_distance
        or position[1] >= waypoint[1]):
      self._passed_waypoint = True
    target = goal if self._passed_waypoint else waypoint
    action = self.gain * (target - position)
    return (action / max(1.0, float(np.abs(action).max()))).astype(np.float32)


def register_expert(pattern: str, factory: ExpertFactory) -> None:
  """Makes ``factory(env, rng)`` the expert for environment names matching
  the fnmatch ``pattern`` (e.g. ``"PointMaze_*"``)."""
  _EXPERTS[pattern] = factory


def expert_names() -> tuple[str, ...]:
  """The name patterns that have a scripted expert."""
  return tuple(_EXPERTS)


def has_expert(env_name: str) -> bool:
  """Whether ``env_name`` has a scripted expert."""
  return _find_expert(env_name) is not None


def make_expert(env_name: str, env: dm_env.Environment,
                rng: np.random.Generator) -> behaviour.BehaviourPolicy:
  """The scripted expert for ``env_name``.

  Raises:
    ValueError: ``env_name`` has no expert; the message lists those that do.
  """
  factory = _find_expert(env_name)
  if factory is None:
    raise ValueError(
        f"env_name={env_name!r} has no scripted expert; experts exist for: "
        f"{', '.join(_EXPERTS)} (kind='random' works for every task)")
  return factory(env, rng)


def make_behaviour_policy(
    env_name: str,
    env: dm_env.Environment,
    kind: str = "expert",
    seed: int = 0,
    noise_std: float = 0.3,
    mixture: Sequence[float] | Mapping[str, float] | None = None,
) -> behaviour.BehaviourPolicy:
  """Builds a data-collecting policy for an environment.

  Args:
    env_name: the name the environment was made with (selects the expert).
    env: the environment (its action spec; some experts read the task, e.g.
      PointMaze's maze layout).
    kind: ``"expert"``; ``"noisy"`` (expert plus Gaussian noise of
      ``noise_std`` times half the action range, clipped); ``"random"``
      (uniform over the bounds); ``"segments"`` (D4RL maze2d style: the
      expert drives segment by segment to the task's goal or to a random
      goal of the task, with the noisy policy's noise; experts with a
      ``sample_goal`` method only, e.g. PointMaze's); ``"mixed"`` (each
      episode, one of those, drawn with the ``mixture`` probabilities).
    seed: seeds every random choice of the policy.
    noise_std: noise scale of the noisy and segments policies.
    mixture: probabilities of (expert, noisy, random[, segments]) for
      ``"mixed"``, as a sequence or a dict with those keys (missing keys
      count 0); defaults to `DEFAULT_MIXTURE`.

  Returns:
    The policy. Call ``begin_episode()`` at every reset.

  Raises:
    ValueError: an unknown ``kind``, a task without an expert for a kind
      that needs one, or a malformed ``mixture``.
  """
  if kind not in KINDS:
    raise ValueError(
        f"kind={kind!r} is unknown; choose one of: {', '.join(KINDS)}")
  if mixture is not None and kind != "mixed":
    raise ValueError(
        f"mixture is only used with kind='mixed'; got kind={kind!r}")
  expert_rng, noise_rng, random_rng, mixture_rng = (
      np.random.default_rng(seed).spawn(4))
  action_spec = env.action_spec()
  random_policy = behaviour.RandomPolicy(action_spec, random_rng)
  if kind == "random":
    return random_policy
  if kind == "mixed":
    probabilities = _mixture_probabilities(mixture)
    if probabilities[0] + probabilities[1] + probabilities[3] == 0:
      # Random only: works for tasks without an expert, too.
      return behaviour.MixedPolicy({"random": random_policy}, [1.0],
                                   mixture_rng)
  expert = make_expert(env_name, env, expert_rng)
  if kind == "expert":
    return expert
  noisy = behaviour.NoisyPolicy(expert, action_spec, noise_std, noise_rng)
  if kind == "noisy":
    return noisy
  if kind == "segments":
    return _segments(env_name, expert, action_spec, noise_std, seed)
  components = {"expert": expert, "noisy": noisy, "random": random_policy}
  if probabilities[3] > 0:
    # Its own expert, so no per-episode state is shared with the others.
    components["segments"] = _segments(
        env_name, make_expert(env_name, env, expert_rng), action_spec, noise_std, seed)
  return behaviour.MixedPolicy(components, probabilities[:len(components)], mixture_rng)


def _segments(env_name, expert, action_spec, noise_std, seed):
  if not hasattr(expert, "sample_goal"):
    raise ValueError(
        f"kind='segments' needs an expert that can draw random goals (a sample_goal "
        f"method); the expert of {env_name!r} ({type(expert).__name__}) has none")
  rng = np.random.default_rng([seed, 1])
  return behaviour.GoalSegmentsPolicy(expert, expert.sample_goal, action_spec, noise_std, rng)


def _mixture_probabilities(mixture) -> tuple[float, float, float, float]:
  names = MIXTURE_NAMES
  if mixture is None:
    return DEFAULT_MIXTURE
  if isinstance(mixture, Mapping):
    unknown = set(mixture) - set(names)
    if unknown:
      raise ValueError(f"mixture has unknown keys {sorted(unknown)}; "
                       f"valid keys: {', '.join(names)}")
    mixture = [mixture.get(name, 0.0) for name in names]
  values = tuple(float(p) for p in mixture)
  if len(values) not in (3, 4) or min(values) < 0 or sum(values) <= 0:
    raise ValueError(
        f"mixture={mixture!r} must be 3 or 4 non-negative probabilities with a "
        "positive sum, for (expert, noisy, random[, segments])")
  return values + (0.0,) * (4 - len(values))


def _find_expert(env_name: str) -> ExpertFactory | None:
  for pattern, factory in _EXPERTS.items():
    if fnmatch.fnmatchcase(env_name, pattern):
      return factory
  return None


def _find(env: Any, predicate: Callable[[Any], bool]) -> Any:
  for inner in success_lib.iter_wrapped(env):
    if predicate(inner):
      return inner
  return None


def _two_routes_expert(env, rng):
  task = _find(env, lambda e: isinstance(e, two_routes.TwoRoutes))
  radius = task.obstacle_radius if task is not None else 0.35
  return TwoRoutesExpert(rng, obstacle_radius=radius)


def _point_maze_expert(env, rng):
  wrapper = _find(env, lambda e: hasattr(e, "gym_env"))
  if wrapper is None or not hasattr(wrapper.gym_env.unwrapped, "maze"):
    raise ValueError("the PointMaze expert needs the environment from "
                     "make_environment('PointMaze_...'), which wraps a "
                     "gymnasium maze task")
  spec = env.action_spec()
  return maze_expert.PointMazeExpert(
      wrapper.gym_env.unwrapped.maze, spec.minimum, spec.maximum, rng)


def _cartpole_expert(env, rng):
  del env
  return cartpole_expert.CartpoleExpert(rng)


register_expert("two_routes", _two_routes_expert)
register_expert("PointMaze_*", _point_maze_expert)
register_expert("cartpole-swingup*", _cartpole_expert)
register_expert("cartpole-balance*", _cartpole_expert)
