"""`two_routes`: a 2-D point that must go round an obstacle, by either side.

The task exists to show why PA-RL matters. A point starts below a circular
obstacle and must reach a goal above it. Demonstrations go round the obstacle
on the left or on the right, so at the start the expert's action distribution
is bimodal: a unimodal (Gaussian) behaviour-cloning policy averages the two
modes into "straight up", into the obstacle, while an expressive policy
(diffusion, autoregressive) keeps them apart.

Pure numpy and a few microseconds per step, so tests and examples can run
hundreds of episodes in seconds.
"""

from __future__ import annotations

import dm_env
from dm_env import specs
import numpy as np

# Bounds of the square arena, in both coordinates.
ARENA = 1.0
START = np.array([0.0, -0.8], np.float32)
GOAL = np.array([0.0, 0.8], np.float32)
OBSTACLE_CENTER = np.array([0.0, 0.0], np.float32)
REWARD_TYPES = ("dense", "sparse")


class TwoRoutes(dm_env.Environment):
  """The `two_routes` task as a `dm_env.Environment`.

  Dynamics: ``position <- clip(position + step_size * clip(action, -1, 1),
  -1, 1)``. An episode ends by termination with success when the point comes
  within ``goal_radius`` of the goal, by termination with failure when its
  path touches the obstacle, and by truncation after ``max_steps`` steps.

  Rewards (``reward_type``): ``"sparse"`` gives 1 on reaching the goal and 0
  otherwise. ``"dense"`` (the default) adds, on every step, the progress
  toward the goal ``|p_{t-1} - g| - |p_t - g|`` (potential-based shaping, Ng
  et al., 1999: it leaves the optimal policies unchanged) to the sparse
  reward, so a critic learns in a few thousand updates; a crash forfeits the
  progress still to come and the goal bonus. With the default
  ``step_size`` the scripted expert needs about 23 steps and a policy has
  60, so slow or hesitant policies still finish.

  Observations: ``{"position": (2,), "goal": (2,)}``, float32.
  Actions: a 2-D velocity in ``[-1, 1]``, float32.
  """

  def __init__(self,
               seed: int = 0,
               max_steps: int = 60,
               step_size: float = 0.07,
               start_noise: float = 0.05,
               obstacle_radius: float = 0.35,
               goal_radius: float = 0.1,
               render_size: int = 128,
               reward_type: str = "dense"):
    """Builds the task.

    Args:
      seed: seeds the start-position noise; resets draw from one generator,
        so the sequence of episodes is fixed by the seed.
      max_steps: time limit; reaching it truncates the episode.
      step_size: distance moved per unit of action per step.
      start_noise: half-width of the uniform noise added to the start.
      obstacle_radius: radius of the obstacle at the origin.
      goal_radius: the goal is reached within this distance.
      render_size: height and width of `render` images, in pixels.
      reward_type: ``"dense"`` (shaped by progress) or ``"sparse"``.
    """
    if reward_type not in REWARD_TYPES:
      raise ValueError(f"reward_type={reward_type!r} is unknown; choose one of: "
                       f"{', '.join(REWARD_TYPES)}")
    self.reward_type = reward_type
    self._rng = np.random.default_rng(seed)
    self.max_steps = int(max_steps)
    self.step_size = float(step_size)
    self.start_noise = float(start_noise)
    self.obstacle_radius = float(obstacle_radius)
    self.goal_radius = float(goal_radius)
    self.render_size = int(render_size)
    self._position = START.copy()
    self._trail = [self._position.copy()]
    self._num_steps = 0
    self._success = False
    self._collided = False
    self._needs_reset = True

  # dm_env.Environment.

  def reset(self) -> dm_env.TimeStep:
    noise = self._rng.uniform(-self.start_noise, self.start_noise, size=2)
    self._position = (START + noise).astype(np.float32)
    self._trail = [self._position.copy()]
    self._num_steps = 0
    self._success = False
    self._collided = False
    self._needs_reset = False
    return dm_env.restart(self._observation())

  def step(self, action) -> dm_env.TimeStep:
    if self._needs_reset:
      return self.reset()
    action = np.clip(np.asarray(action, np.float32).reshape(2), -1.0, 1.0)
    start = self._position
    end = np.clip(start + self.step_size * action, -ARENA, ARENA)
    self._position = end.astype(np.float32)
    self._trail.append(self._position.copy())
    self._num_steps += 1
    obs = self._observation()
    shaping = 0.0
    if self.reward_type == "dense":
      shaping = float(np.linalg.norm(start - GOAL) - np.linalg.norm(end - GOAL))
    if _segment_distance(start, end, OBSTACLE_CENTER) < self.obstacle_radius:
      self._collided = True
      self._needs_reset = True
      return dm_env.termination(np.float32(shaping), obs)
    if np.linalg.norm(end - GOAL) <= self.goal_radius:
      self._success = True
      self._needs_reset = True
      return dm_env.termination(np.float32(1.0 + shaping), obs)
    if self._num_steps >= self.max_steps:
      self._needs_reset = True
      return dm_env.truncation(np.float32(shaping), obs, discount=np.float32(1.0))
    return dm_env.transition(np.float32(shaping), obs, discount=np.float32(1.0))

  def observation_spec(self) -> dict[str, specs.Array]:
    return {
        "position": specs.BoundedArray((2,), np.float32, -ARENA, ARENA,
                                       name="position"),
        "goal": specs.Array((2,), np.float32, name="goal"),
    }

  def action_spec(self) -> specs.BoundedArray:
    return specs.BoundedArray((2,), np.float32, -1.0, 1.0, name="action")

  def reward_spec(self) -> specs.Array:
    return specs.Array((), np.float32, name="reward")

  def discount_spec(self) -> specs.BoundedArray:
    return specs.BoundedArray((), np.float32, 0.0, 1.0, name="discount")

  # Extras.

  @property
  def success(self) -> bool:
    """Whether the current episode has reached the goal."""
    return self._success

  @property
  def collided(self) -> bool:
    """Whether the current episode ended on the obstacle."""
    return self._collided

  @property
  def trail(self) -> np.ndarray:
    """Positions visited in the current episode, ``[T + 1, 2]``."""
    return np.stack(self._trail)

  @property
  def route(self) -> str | None:
    """Which side of the obstacle the episode went round so far.

    ``"left"`` or ``"right"`` by the sign of x where the path first reaches
    the obstacle's height (y >= 0); None before that.
    """
    return route_of(self.trail)

  def render(self) -> np.ndarray:
    """Draws arena, obstacle, goal, trail and point as ``uint8 [H, W, 3]``."""
    return render_two_routes(self.trail, self.obstacle_radius,
                             self.goal_radius, self.render_size)

  def _observation(self) -> dict[str, np.ndarray]:
    return {"position": self._position.copy(), "goal": GOAL.copy()}


def route_of(positions: np.ndarray) -> str | None:
  """``"left"``/``"right"``: the side of x < 0 / x >= 0 where a path of
  positions ``[T, 2]`` first reaches y >= 0; None if it never does."""
  positions = np.asarray(positions)
  crossed = np.nonzero(positions[:, 1] >= OBSTACLE_CENTER[1])[0]
  if crossed.size == 0:
    return None
  return "left" if positions[crossed[0], 0] < OBSTACLE_CENTER[0] else "right"


def _segment_distance(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> float:
  """Shortest distance from point p to the segment [a, b]; checking the whole
  segment stops a step from cutting through the edge of the obstacle."""
  ab = b - a
  denom = float(ab @ ab)
  t = 0.0 if denom == 0.0 else float(np.clip((p - a) @ ab / denom, 0.0, 1.0))
  return float(np.linalg.norm(a + t * ab - p))


_BACKGROUND = np.array([245, 245, 240], np.uint8)
_OBSTACLE = np.array([90, 90, 90], np.uint8)
_GOAL = np.array([60, 170, 80], np.uint8)
_TRAIL = np.array([70, 110, 220], np.uint8)
_POINT = np.array([220, 60, 50], np.uint8)


def render_two_routes(trail: np.ndarray,
                      obstacle_radius: float = 0.35,
                      goal_radius: float = 0.1,
                      size: int = 128) -> np.ndarray:
  """Rasterises one `two_routes` episode with numpy.

  Args:
    trail: positions visited, ``[T, 2]``; the last one is the point.
    obstacle_radius: radius of the obstacle disk.
    goal_radius: radius of the goal disk.
    size: image height and width in pixels.

  Returns:
    A ``uint8 [size, size, 3]`` image, y pointing up.
  """
  trail = np.asarray(trail, np.float32).reshape(-1, 2)
  # Pixel centres in world coordinates; row 0 is the top (y = +1).
  coords = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 * ARENA - ARENA
  xs, ys = np.meshgrid(coords, coords[::-1])
  image = np.broadcast_to(_BACKGROUND, (size, size, 3)).copy()
  pixel = 2 * ARENA / size

  def disk(center, radius, colour):
    mask = (xs - center[0]) ** 2 + (ys - center[1]) ** 2 <= radius ** 2
    image[mask] = colour

  disk(OBSTACLE_CENTER, obstacle_radius, _OBSTACLE)
  disk(GOAL, goal_radius, _GOAL)
  # The trail as dense dots along each segment, about one per pixel.
  for a, b in zip(trail[:-1], trail[1:]):
    n = max(2, int(np.ceil(np.linalg.norm(b - a) / pixel)) + 1)
    for t in np.linspace(0.0, 1.0, n):
      col, row = _to_pixel(a + t * (b - a), size)
      image[max(row - 1, 0):row + 1, max(col - 1, 0):col + 1] = _TRAIL
  disk(trail[-1], 3 * pixel, _POINT)
  return image


def _to_pixel(xy: np.ndarray, size: int) -> tuple[int, int]:
  col = int(np.clip((xy[0] + ARENA) / (2 * ARENA) * size, 0, size - 1))
  row = int(np.clip((ARENA - xy[1]) / (2 * ARENA) * size, 0, size - 1))
  return col, row
