"""Scripted expert for gymnasium-robotics PointMaze: BFS over maze cells plus
a PD controller to the centre of the next cell.

This is D4RL maze2d's `WaypointController` (Fu et al., 2020, "D4RL: Datasets
for Deep Data-Driven Reinforcement Learning"), which used ``p_gain=10`` and
``d_gain=-1`` on the original maze2d; the gains here are retuned for
PointMaze-v3's dynamics.
"""

from __future__ import annotations

import collections
from typing import Any, Mapping

import numpy as np

from pa_rl.environments import behaviour

# Cells of `maze_map` that are walls; every other entry (0, "g", "r", "c")
# is free floor.
_WALL = 1
_MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


class PointMazeExpert(behaviour.BehaviourPolicy):
  """Follows the shortest cell path to the goal with a PD controller.

  Each step: the cell of the ball, then (by breadth-first search from the
  goal's cell) its neighbour one cell closer to the goal; the waypoint is
  that cell's centre, or the goal itself once the ball is in the goal's
  cell. The action is ``clip(kp * (waypoint - position) - kd * velocity)``.

  Attributes:
    maze: the gymnasium-robotics `Maze` (``env.unwrapped.maze``).
  """

  def __init__(self, maze, action_low: np.ndarray, action_high: np.ndarray,
               rng: np.random.Generator, kp: float = 10.0, kd: float = 1.0):
    """Builds the expert.

    Args:
      maze: the task's `Maze`: ``maze_map`` and the cell <-> xy helpers
        ``cell_rowcol_to_xy`` / ``cell_xy_to_rowcol`` are used.
      action_low: lower action bound.
      action_high: upper action bound.
      rng: unused (the expert is deterministic); kept for the interface.
      kp: proportional gain on the waypoint error.
      kd: derivative gain on the ball's velocity.
    """
    super().__init__(rng)
    self.maze = maze
    self._low = np.asarray(action_low, np.float32)
    self._high = np.asarray(action_high, np.float32)
    self.kp = float(kp)
    self.kd = float(kd)
    self._free = np.asarray(maze.maze_map, dtype=object) != _WALL
    self._distances: dict[tuple[int, int], np.ndarray] = {}

  def select_action(self, observation: Mapping[str, Any]) -> np.ndarray:
    state = np.asarray(observation["observation"], np.float64)
    position, velocity = state[:2], state[2:4]
    goal = np.asarray(observation["desired_goal"], np.float64)
    waypoint = self.waypoint(position, goal)
    action = self.kp * (waypoint - position) - self.kd * velocity
    return np.clip(action, self._low, self._high).astype(np.float32)

  def sample_goal(self, rng: np.random.Generator) -> np.ndarray:
    """The centre of a free cell drawn uniformly (random goal segments)."""
    cells = np.argwhere(self._free)
    return self._centre(tuple(int(v) for v in cells[rng.integers(len(cells))]))

  def waypoint(self, position: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """Where to head from ``position`` to reach ``goal``."""
    cell = self._cell(position)
    goal_cell = self._cell(goal)
    if cell == goal_cell:
      return goal
    distances = self._distance_field(goal_cell)
    row, col = cell
    if not self._is_free(cell) or distances[row, col] < 0:
      # Numerically on a wall's edge: head for the centre of this cell.
      return self._centre(cell)
    best = min((n for n in self._neighbours(cell) if distances[n] >= 0),
               key=lambda n: distances[n])
    return self._centre(best)

  def _distance_field(self, goal_cell: tuple[int, int]) -> np.ndarray:
    """BFS distance (in cells) from every free cell to ``goal_cell``; -1 for
    walls and unreachable cells. Cached per goal cell."""
    if goal_cell not in self._distances:
      distances = np.full(self._free.shape, -1, np.int64)
      distances[goal_cell] = 0
      queue = collections.deque([goal_cell])
      while queue:
        cell = queue.popleft()
        for n in self._neighbours(cell):
          if distances[n] < 0:
            distances[n] = distances[cell] + 1
            queue.append(n)
      self._distances[goal_cell] = distances
    return self._distances[goal_cell]

  def _neighbours(self, cell: tuple[int, int]):
    for dr, dc in _MOVES:
      n = (cell[0] + dr, cell[1] + dc)
      if self._is_free(n):
        yield n

  def _is_free(self, cell: tuple[int, int]) -> bool:
    rows, cols = self._free.shape
    inside = 0 <= cell[0] < rows and 0 <= cell[1] < cols
    return inside and bool(self._free[cell])

  def _cell(self, xy: np.ndarray) -> tuple[int, int]:
    row, col = self.maze.cell_xy_to_rowcol(np.asarray(xy, np.float64))
    return int(row), int(col)

  def _centre(self, cell: tuple[int, int]) -> np.ndarray:
    return np.asarray(self.maze.cell_rowcol_to_xy(np.array(cell)), np.float64)
