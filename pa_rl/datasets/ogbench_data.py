"""OGBench datasets regenerated here, with OGBench's own oracles and recipe.

OGBench ships its environments and the scripted oracles its official
datasets were made with (``data_gen_scripts/generate_manipspace.py`` and
``generate_locomaze.py`` in its repository), so the official datasets can be
made again without a download. The recipe, per dataset type:

=============  ===================================================  ==========
dataset type   behaviour                                             episodes
=============  ===================================================  ==========
play (manip)   ``*PlanOracle`` over random tasks, action noise 0.1,  1000 x 1001
               noise smoothing 0.5
noisy (manip)  ``*MarkovOracle`` (min norm 0.4), per-episode noise    1000 x 1001
               xi ~ U(0, 0.1), random actions 10% (puzzle 20%)
navigate       subgoal-direction oracle (point mazes), noise 0.5,    1000 x 1001
(pointmaze)    a new random goal cell each time one is reached
stitch         the same, to a goal 4 cells away                      5000 x 201
(pointmaze)
=============  ===================================================  ==========

Ant and humanoid mazes drive a SAC-trained locomotion expert that the
``ogbench`` package does not ship, so they cannot be regenerated here.

Unlike OGBench's script, which draws from NumPy's global generator without
seeding it, generation here is seeded: the environment's first reset and
NumPy's global generator (which OGBench's oracles and task sampler use; its
previous state is restored afterwards) both start from ``seed``, so the same
seed writes the same data.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Iterator

import numpy as np

from pa_rl import progress
from pa_rl.datasets import importers
from pa_rl.datasets import rlds_io
from pa_rl.environments import ogbench_names

DatasetError = rlds_io.DatasetError
_MANIPULATION = ("cube", "scene", "puzzle")
# (dataset type, family) -> official episodes, steps per episode.
_OFFICIAL_SIZE = {"play": (1000, 1001), "noisy": (1000, 1001), "navigate": (1000, 1001),
                  "stitch": (5000, 201)}
PLAY_NOISE, PLAY_SMOOTHING = 0.1, 0.5
MARKOV_MIN_NORM, MARKOV_NOISE = 0.4, 0.1
NAVIGATE_NOISE = 0.5
STITCH_CELLS = 4


def family(env_id: str) -> str:
  """``cube``, ``scene``, ``puzzle``, ``pointmaze``, ``antmaze``, ..."""
  name = env_id.split("-")[0]
  return "visual" if name == "visual" else name


def official_size(dataset: ogbench_names.DatasetName) -> tuple[int, int]:
  """(episodes, steps per episode) of the official dataset."""
  return _OFFICIAL_SIZE[dataset.dataset_type]


def check_can_generate(dataset: ogbench_names.DatasetName) -> None:
  """Raises `DatasetError` for datasets this module cannot regenerate."""
  fam = family(dataset.collection_env_id)
  if fam in _MANIPULATION:
    if dataset.dataset_type not in ("play", "noisy"):
      raise DatasetError(f"{dataset.name!r}: manipulation datasets are 'play' or 'noisy'; "
                         f"got {dataset.dataset_type!r}")
    return
  if fam == "pointmaze":
    if dataset.dataset_type not in ("navigate", "stitch"):
      raise DatasetError(f"{dataset.name!r}: point-maze datasets here are 'navigate' or "
                         f"'stitch'; got {dataset.dataset_type!r}")
    return
  raise DatasetError(
      f"{dataset.name!r} cannot be regenerated here: OGBench made it with a SAC-trained "
      f"{fam} locomotion expert that the ogbench package does not ship (only the "
      "manipulation oracles (cube, scene, puzzle) and the point-maze oracle are "
      "scripted). Convert a copy of the official file instead: python -m "
      "pa_rl.binaries.convert --input=FILE.npz --env=NAME --output_dir=DIR")


@contextlib.contextmanager
def _seeded_global_numpy(seed: int) -> Iterator[None]:
  state = np.random.get_state()
  np.random.seed(seed)
  try:
    yield
  finally:
    np.random.set_state(state)


def generate_arrays(dataset: ogbench_names.DatasetName, num_episodes: int, seed: int,
                    max_episode_steps: int | None = None) -> dict[str, np.ndarray]:
  """Generates ``num_episodes`` episodes in OGBench's own file layout.

  Returns:
    ``observations``, ``actions``, ``terminals`` (the last row of each
    episode), ``qpos``, ``qvel`` (and ``button_states``): what OGBench's
    generator saves, readable by ``ogbench.utils.load_dataset``.
  """
  check_can_generate(dataset)
  if num_episodes < 1:
    raise ValueError(f"num_episodes must be >= 1; got {num_episodes}")
  steps = max_episode_steps or official_size(dataset)[1]
  if steps < 2:
    raise ValueError(f"max_episode_steps must be >= 2; got {steps}")
  import gymnasium as gym  # pylint: disable=g-import-not-at-top
  ogbench_names.register()
  fam = family(dataset.collection_env_id)
  kwargs = {"terminate_at_goal": False, "max_episode_steps": steps}
  if fam in _MANIPULATION:
    kwargs["mode"] = "data_collection"
  env = gym.make(dataset.collection_env_id, **kwargs)
  try:
    with _seeded_global_numpy(seed):
      env.action_space.seed(seed)
      env.reset(seed=seed)
      if fam in _MANIPULATION:
        rows = _manipulation_episodes(env, dataset, num_episodes)
      else:
        rows = _maze_episodes(env, dataset, num_episodes)
  finally:
    env.close()
  out = {}
  for key, values in rows.items():
    dtype = bool if key == "terminals" else np.int64 if key == "button_states" else np.float32
    out[key] = np.asarray(values, dtype)
  return out


def _manipulation_oracles(env, dataset):
  from ogbench.manipspace.oracles.markov import button_markov, cube_markov  # pylint: disable=g-import-not-at-top
  from ogbench.manipspace.oracles.markov import drawer_markov, window_markov  # pylint: disable=g-import-not-at-top
  from ogbench.manipspace.oracles.plan import button_plan, cube_plan  # pylint: disable=g-import-not-at-top
  from ogbench.manipspace.oracles.plan import drawer_plan, window_plan  # pylint: disable=g-import-not-at-top
  fam = family(dataset.collection_env_id)
  if dataset.dataset_type == "play":
    noise = {"noise": PLAY_NOISE, "noise_smoothing": PLAY_SMOOTHING}
    make = {"cube": lambda: cube_plan.CubePlanOracle(env=env, **noise),
            "button": lambda: button_plan.ButtonPlanOracle(
                env=env, gripper_always_closed=fam == "puzzle", **noise),
            "drawer": lambda: drawer_plan.DrawerPlanOracle(env=env, **noise),
            "window": lambda: window_plan.WindowPlanOracle(env=env, **noise)}
  else:
    norm = {"min_norm": MARKOV_MIN_NORM}
    make = {"cube": lambda: cube_markov.CubeMarkovOracle(
                env=env, **norm, **({"max_step": 100} if fam == "scene" else {})),
            "button": lambda: button_markov.ButtonMarkovOracle(
                env=env, gripper_always_closed=fam == "puzzle", **norm),
            "drawer": lambda: drawer_markov.DrawerMarkovOracle(env=env, **norm),
            "window": lambda: window_markov.WindowMarkovOracle(env=env, **norm)}
  kinds = {"cube": ("cube",), "scene": ("cube", "button", "drawer", "window"),
           "puzzle": ("button",)}[fam]
  return {k: make[k]() for k in kinds}


def _stack_probability(env_id: str) -> float:
  """How often a cube task stacks (OGBench's recipe, per number of cubes)."""
  parts = env_id.split("-")
  if "single" in parts:
    return 0.0
  low_high = {"double": (0.0, 0.25), "triple": (0.05, 0.35), "quadruple": (0.1, 0.5),
              "octuple": (0.0, 0.35)}
  for name, (low, high) in low_high.items():
    if name in parts:
      return float(np.random.uniform(low, high))
  return 0.5


def _scene_is_healthy(qpos: np.ndarray) -> bool:
  """OGBench's check that the cube stays visible unless it is in the drawer
  (goal images would be ambiguous otherwise): unhealthy episodes are redone."""
  cube = qpos[:, 14:17]
  too_right = (cube[:, 1] >= 0.29).any()
  too_left = ((cube[:, 1] <= -0.3) & ((cube[:, 2] < 0.06) | (cube[:, 2] > 0.08))).any()
  return not (too_right or too_left)


def _manipulation_episodes(env, dataset, num_episodes):
  fam = family(dataset.collection_env_id)
  oracles = _manipulation_oracles(env, dataset)
  markov = dataset.dataset_type == "noisy"
  p_random = (0.2 if fam == "puzzle" else 0.1) if markov else 0.0
  has_buttons = hasattr(env.unwrapped, "_cur_button_states")
  rows: dict[str, list] = {k: [] for k in ("observations", "actions", "terminals", "qpos",
                                           "qvel")}
  if has_buttons:
    rows["button_states"] = []
  for _ in progress.progress(range(num_episodes), desc=f"generate {dataset.dataset}"):
    while True:
      episode = {k: [] for k in rows}
      ob, info = env.reset()
      p_stack = _stack_probability(dataset.collection_env_id)
      xi = np.random.uniform(0, MARKOV_NOISE) if markov else 0.0
      oracle = oracles[info["privileged/target_task"]]
      oracle.reset(ob, info)
      done = False
      while not done:
        if np.random.rand() < p_random:
          action = env.action_space.sample()
        else:
          action = np.array(oracle.select_action(ob, info))
          if markov:
            action = action + np.random.normal(0, [xi, xi, xi, xi * 3, xi * 10], action.shape)
        action = np.clip(action, -1, 1)
        next_ob, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        if oracle.done:
          # The oracle finished its task: the play data goes on to a new one.
          agent_ob, agent_info = env.unwrapped.set_new_target(p_stack=p_stack)
          oracle = oracles[agent_info["privileged/target_task"]]
          oracle.reset(agent_ob, agent_info)
        episode["observations"].append(ob)
        episode["actions"].append(action)
        episode["terminals"].append(done)
        episode["qpos"].append(info["prev_qpos"])
        episode["qvel"].append(info["prev_qvel"])
        if has_buttons:
          episode["button_states"].append(info["prev_button_states"])
        ob = next_ob
      if fam != "scene" or _scene_is_healthy(np.asarray(episode["qpos"])):
        break
      logging.info("unhealthy scene episode (the cube left the view); generating it again")
    for k in rows:
      rows[k].extend(episode[k])
  return rows


def _maze_cells(maze_map: np.ndarray) -> tuple[list, list]:
  """Free cells, and the free cells that are not straight corridor cells
  (OGBench's goal cells)."""
  free, goals = [], []
  for i in range(maze_map.shape[0]):
    for j in range(maze_map.shape[1]):
      if maze_map[i, j] != 0:
        continue
      free.append((i, j))
      vertical = (maze_map[i - 1, j] == 0 and maze_map[i + 1, j] == 0
                  and maze_map[i, j - 1] == 1 and maze_map[i, j + 1] == 1)
      horizontal = (maze_map[i, j - 1] == 0 and maze_map[i, j + 1] == 0
                    and maze_map[i - 1, j] == 1 and maze_map[i + 1, j] == 1)
      if not (vertical or horizontal):
        goals.append((i, j))
  return free, goals


def _cells_at_distance(maze_map: np.ndarray, start: tuple[int, int], distance: int) -> list:
  """Free cells exactly ``distance`` moves from ``start`` (breadth-first)."""
  dist = -np.ones(maze_map.shape, int)
  dist[start] = 0
  queue, out = [start], []
  while queue:
    i, j = queue.pop(0)
    for di, dj in ((-1, 0), (0, -1), (1, 0), (0, 1)):
      ni, nj = i + di, j + dj
      if (0 <= ni < maze_map.shape[0] and 0 <= nj < maze_map.shape[1]
          and maze_map[ni, nj] == 0 and dist[ni, nj] == -1):
        dist[ni, nj] = dist[i, j] + 1
        queue.append((ni, nj))
        if dist[ni, nj] == distance:
          out.append((ni, nj))
  return out


def _maze_episodes(env, dataset, num_episodes):
  maze = env.unwrapped
  free, goals = _maze_cells(maze.maze_map)
  rows: dict[str, list] = {k: [] for k in ("observations", "actions", "terminals", "qpos",
                                           "qvel")}
  for _ in progress.progress(range(num_episodes), desc=f"generate {dataset.dataset}"):
    init = free[np.random.randint(len(free))]
    if dataset.dataset_type == "navigate":
      goal = goals[np.random.randint(len(goals))]
    else:
      near = _cells_at_distance(maze.maze_map, init, STITCH_CELLS)
      goal = near[np.random.randint(len(near))] if near else init
    ob, _ = env.reset(options={"task_info": {"init_ij": init, "goal_ij": goal}})
    done = False
    while not done:
      subgoal, _ = maze.get_oracle_subgoal(maze.get_xy(), maze.cur_goal_xy)
      direction = subgoal - maze.get_xy()
      # The point mass's oracle action is the unit direction to its subgoal.
      action = direction / (np.linalg.norm(direction) + 1e-6)
      action = np.clip(action + np.random.normal(0, NAVIGATE_NOISE, action.shape), -1, 1)
      next_ob, _, terminated, truncated, info = env.step(action)
      done = terminated or truncated
      if info["success"] and dataset.dataset_type == "navigate":
        maze.set_goal(goals[np.random.randint(len(goals))])
      rows["observations"].append(ob)
      rows["actions"].append(action)
      rows["terminals"].append(done)
      rows["qpos"].append(info["prev_qpos"])
      rows["qvel"].append(info["prev_qvel"])
      ob = next_ob
  return rows


def task_env_ids(dataset: ogbench_names.DatasetName) -> list[str]:
  """The single-task environments of a dataset's environment (task1..task5)."""
  base = dataset.collection_env_id.split("-")
  return ["-".join(base[:-1] + ["singletask", f"task{k}", base[-1]])
          for k in range(1, ogbench_names.NUM_TASKS + 1)]


def task_statistics(arrays: dict[str, np.ndarray],
                    dataset: ogbench_names.DatasetName) -> dict[str, dict[str, float]]:
  """Per single task: the fraction of rows in a success state and of episodes
  that reach one (relabelled with OGBench's ``relabel_dataset``)."""
  ends = np.flatnonzero(np.asarray(arrays["terminals"], bool))
  starts = np.concatenate([[0], ends[:-1] + 1])
  out = {}
  for env_id in task_env_ids(dataset):
    _, masks = importers.relabel_singletask(env_id, arrays)
    success = masks == 0
    out[env_id] = {
        "success_state_fraction": float(np.mean(success)),
        "episodes_reaching_goal": float(np.mean([success[s:e + 1].any()
                                                 for s, e in zip(starts, ends)])),
    }
  return out


def collect(name: str, output_dir: str, *, num_episodes: int | None = None, seed: int = 0,
            overwrite: bool = False, max_episode_steps: int | None = None
            ) -> dict[str, Any]:
  """Generates an OGBench dataset and writes it as RLDS at ``output_dir``.

  A single-task name (``scene-play-singletask-task2-v0``) writes the play
  data relabelled for that task, recorded with its environment
  (``scene-singletask-task2-v0``), ready to train and evaluate on; a
  goal-conditioned name (``scene-play-v0``) writes reward 0. Either way the
  generated arrays are kept in OGBench's own layout at
  ``<output_dir>/ogbench/<dataset>.npz`` (``ogbench.utils.load_dataset``
  reads it), so other tasks can be relabelled from them with
  ``pa_rl.binaries.convert`` without generating again.

  Args:
    name: an OGBench dataset name.
    output_dir: the dataset directory (written atomically).
    num_episodes: episodes to generate (default: the official count).
    seed: seeds the environment and the oracles.
    overwrite: replace an existing dataset.
    max_episode_steps: episode length (default: the official one).

  Returns:
    Summary statistics: episodes, transitions, episode length, and for a
    single-task name the fraction of success states and of episodes that
    reach the goal.
  """
  dataset = ogbench_names.resolve_dataset_name(name)
  if dataset is None:
    raise ValueError(f"{name!r} is not an OGBench dataset name (e.g. scene-play-v0, "
                     "scene-play-singletask-task2-v0, pointmaze-medium-navigate-v0)")
  check_can_generate(dataset)
  rlds_io.check_output_dir(output_dir, overwrite)  # Before hours of generation.
  num_episodes = num_episodes or official_size(dataset)[0]
  arrays = generate_arrays(dataset, num_episodes, seed, max_episode_steps)
  singletask = dataset.env_id if dataset.singletask else None
  episodes, info = importers.episodes_from_arrays(arrays, "ogbench", singletask)
  meta = {"policy": "ogbench", "seed": seed, "ogbench_dataset": dataset.dataset,
          "reward_source": info["reward_source"]}
  path = importers.write_episodes(
      episodes, output_dir, env=dataset.env_id, env_id=dataset.env_id, overwrite=overwrite,
      extra_metadata=meta, sidecars={f"ogbench/{dataset.dataset}.npz": arrays},
      policy="ogbench")
  lengths = [len(e["steps"]["reward"]) - 1 for e in episodes]
  stats = {"path": path, "episodes": len(episodes), "transitions": int(sum(lengths)),
           "episode_length": float(np.mean(lengths)), "reward_source": info["reward_source"],
           "source_npz": os.path.join(path, "ogbench", f"{dataset.dataset}.npz")}
  if singletask:
    discounts = np.concatenate([e["steps"]["discount"][:-1] for e in episodes])
    stats["success_state_fraction"] = float(np.mean(discounts == 0))
    stats["success_rate"] = float(np.mean([e["success"] for e in episodes]))
  return stats
