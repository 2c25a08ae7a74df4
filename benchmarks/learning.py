r"""Learning benchmark: every method on the same locally collected data.

Collects a mixed-quality dataset with the library's own `collect` (scripted
expert, noisy expert and random episodes), then trains and evaluates, per
seed: Gaussian / diffusion / autoregressive BC, IQL and Cal-QL (Gaussian
policies), PA-RL with a diffusion and with an autoregressive policy
(offline), and online fine-tuning of the offline PA-RL (diffusion) agent for
a fixed number of episodes.

Scores are normalized per seed with two reference policies evaluated on the
very same evaluation episodes: 0 = uniform random actions, 100 = the scripted
expert (``100 * (success - random) / (expert - random)``).

Writes, under ``--results_dir`` (default ``benchmarks/results``):
  ``<task>.md``        the table (mean +- std over seeds, and per seed),
  ``<task>.csv``       one row per method and seed,
  ``<task>_curves.png`` normalized score vs updates (mean and range over
                       seeds) and the online exploration episodes.
Per-run results are cached as JSON under ``--workdir``, so a killed run
resumes where it stopped (delete the workdir to start over).

  python -m benchmarks.learning --task=pointmaze_medium --seeds=0,1,2
  python -m benchmarks.learning --task=two_routes --methods=gaussian_bc,parl_diffusion
  python -m benchmarks.learning --quick   # seconds; checks the pipeline (CI)
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import time
from typing import Any, Callable

import dm_env
import numpy as np

from pa_rl import file_utils

TASKS = ("two_routes", "pointmaze_medium", "pointmaze_medium_segments", "pointmaze_large",
         "pointmaze_large_segments", "pointmaze_multitask",
         "halfcheetah_medium", "halfcheetah_medium_replay")
METHODS = ("gaussian_bc", "diffusion_bc", "autoregressive_bc", "iql", "calql",
           "parl_diffusion", "parl_autoregressive", "parl_diffusion_online")
LABELS = {
    "gaussian_bc": "Gaussian BC", "diffusion_bc": "diffusion BC",
    "autoregressive_bc": "autoregressive BC", "iql": "IQL (Gaussian)",
    "calql": "Cal-QL (Gaussian)", "parl_diffusion": "PA-RL (diffusion, Cal-QL)",
    "parl_autoregressive": "PA-RL (autoregressive, Cal-QL)",
    "parl_diffusion_online": "PA-RL (diffusion) + online fine-tuning",
}
# method -> (agent_type, policy_type, critic needed)
_AGENTS = {
    "gaussian_bc": ("imitation", "gaussian", False),
    "diffusion_bc": ("imitation", "diffusion", False),
    "autoregressive_bc": ("imitation", "autoregressive", False),
    "iql": ("iql", "gaussian", True),
    "calql": ("calql", "gaussian", True),
    "parl_diffusion": ("diffusion_rl", "diffusion", True),
    "parl_autoregressive": ("offline_rl", "autoregressive", True),
}


@dataclasses.dataclass(frozen=True)
class Task:
  """One benchmark setting.

  Attributes:
    name: the `--task` name.
    envs: environment names, one per task id (one entry: single-task).
    data: `collection.collect` keyword arguments (per environment).
    discount: gamma of the TD targets and Monte-Carlo returns.
    steps: offline updates per method family ("bc", "rl").
    eval_episodes: final evaluation episodes per method and seed.
    curve_points: evaluations during training (learning curves).
    curve_episodes: episodes per learning-curve evaluation.
    online_episodes: online fine-tuning budget (episodes).
    presets: the `pa_rl.agents.presets` settings (name -> dict).
    n_step: TD backup length (sparse long-horizon tasks propagate faster).
    metric: what an evaluation measures: ``"success"`` (rate, goal tasks) or
      ``"return"`` (mean episode return, locomotion). Results store it under
      the ``success`` keys either way.
  """
  name: str
  envs: tuple[str, ...]
  data: dict[str, Any]
  discount: float
  steps: dict[str, int]
  eval_episodes: int
  curve_points: int
  curve_episodes: int
  online_episodes: int
  presets: dict[str, Any]
  n_step: int = 1
  metric: str = "success"


def make_task(name: str, quick: bool) -> Task:
  from pa_rl.agents import presets  # pylint: disable=g-import-not-at-top
  if name == "two_routes":
    task = Task(name, ("two_routes",), dict(presets.TWO_ROUTES_DATA),
                presets.TWO_ROUTES_DISCOUNT, {"bc": 2000, "rl": 4000}, 30, 5, 10, 40,
                {"diffusion": presets.DIFFUSION, "gaussian": presets.GAUSSIAN,
                 "autoregressive": presets.AUTOREGRESSIVE, "critic": presets.CRITIC,
                 "rl": presets.PARL, "online": presets.TWO_ROUTES_ONLINE})
  elif name.startswith("pointmaze"):
    size = "Large" if name.startswith("pointmaze_large") else "Medium"
    segments = name.endswith("_segments")
    data = presets.POINTMAZE_SEGMENTS_DATA if segments else presets.POINTMAZE_DATA
    if name == "pointmaze_multitask":
      envs = tuple(_register_goal_task(i, cell)
                   for i, cell in enumerate(presets.POINTMAZE_MULTITASK_GOALS))
    else:
      envs = (_register_pointmaze(size),)
    task = Task(name, envs, dict(data), presets.POINTMAZE_DISCOUNT,
                dict(presets.POINTMAZE_STEPS), 50, 5, 20,
                presets.POINTMAZE_ONLINE_EPISODES,
                {"diffusion": presets.DIFFUSION, "gaussian": presets.GAUSSIAN,
                 "autoregressive": presets.AUTOREGRESSIVE,
                 "critic": presets.POINTMAZE_CRITIC, "rl": presets.POINTMAZE_PARL,
                 "online": presets.POINTMAZE_ONLINE}, presets.POINTMAZE_N_STEP)
  elif name.startswith("halfcheetah"):
    kind = name[len("halfcheetah_"):]
    task = Task(name, ("HalfCheetah-v5",), {"kind": kind, **presets.CHEETAH_SAC,
                                            "num_episodes": presets.CHEETAH_MEDIUM_EPISODES},
                presets.CHEETAH_DISCOUNT, dict(presets.CHEETAH_STEPS), 5, 3, 1, 0,
                {"diffusion": presets.CHEETAH_DIFFUSION, "gaussian": presets.CHEETAH_GAUSSIAN,
                 "autoregressive": presets.AUTOREGRESSIVE, "critic": presets.CHEETAH_CRITIC,
                 "rl": presets.CHEETAH_PARL, "online": {},
                 "sac": {"gaussian": presets.CHEETAH_SAC_GAUSSIAN,
                         "critic": presets.CHEETAH_SAC_CRITIC}},
                metric="return")
  else:
    raise ValueError(f"task={name!r} is unknown; choose one of: {', '.join(TASKS)}")
  if quick and task.metric == "return":
    task = dataclasses.replace(
        task, envs=(_register_time_limited(task.envs[0], 100),),
        data={**task.data, "num_steps": 300, "start_steps": 100, "snapshot_every": 100,
              "batch_size": 32},
        presets={**task.presets, "sac": {"gaussian": {"hidden_sizes": (16,)},
                                         "critic": {"hidden_sizes": (16,), "ensemble_size": 2}}})
  if quick:
    tiny = {"hidden_dim": 16, "num_blocks": 1, "num_diffusion_steps": 2, "time_dim": 8}
    task = dataclasses.replace(
        task, data={**task.data, "num_episodes": 12}, steps={"bc": 10, "rl": 10},
        eval_episodes=2, curve_points=1, curve_episodes=1, online_episodes=1,
        presets={**task.presets, "diffusion": tiny, "gaussian": {"hidden_sizes": (16,)},
                 "autoregressive": {**task.presets["autoregressive"], "embed_dim": 16,
                                    "num_layers": 1, "num_heads": 1, "num_bins": 16},
                 "critic": {"hidden_sizes": (16,), "ensemble_size": 2},
                 "rl": {**task.presets["rl"], "batch_size": 32},
                 "online": {**task.presets["online"], "batch_size": 32}})
  return task


# ----------------------------------------------------------------------------
# Environments: PointMaze with a shorter time limit, and fixed-goal tasks whose
# goal is not observed (the task id is the only hint).


def _register_pointmaze(size: str) -> str:
  from pa_rl.agents import presets  # pylint: disable=g-import-not-at-top
  steps = presets.POINTMAZE_TIME_LIMIT[size]
  return _register_time_limited(f"PointMaze_{size}-v3", steps,
                                f"PointMaze_{size}_T{steps}-v3")


def _register_time_limited(base: str, steps: int, name: str | None = None) -> str:
  """Registers ``name`` (default ``<base>_T<steps>``): ``base`` with episodes
  of at most ``steps`` steps. Returns the name."""
  from pa_rl import environments  # pylint: disable=g-import-not-at-top
  name = name or f"{base}_T{steps}"
  if name not in environments.registered_environments():
    environments.register_environment(
        name, lambda seed=0, **kw: environments.make_environment(
            base, seed=seed, max_episode_steps=steps, **kw))
  return name


class HiddenGoal(dm_env.Environment):
  """Drops ``desired_goal`` from a PointMaze observation (fixed-goal tasks)."""

  def __init__(self, environment: dm_env.Environment):
    self.environment = environment

  def _strip(self, timestep):
    obs = {k: v for k, v in timestep.observation.items() if k != "desired_goal"}
    return timestep._replace(observation=obs)

  def reset(self):
    return self._strip(self.environment.reset())

  def step(self, action):
    return self._strip(self.environment.step(action))

  def observation_spec(self):
    return {k: v for k, v in self.environment.observation_spec().items()
            if k != "desired_goal"}

  def action_spec(self):
    return self.environment.action_spec()

  def close(self):
    self.environment.close()


class WithTaskId(HiddenGoal):
  """Adds the constant ``task_id`` observation the multi-task policy reads."""

  def __init__(self, environment: dm_env.Environment, task_id: int):
    super().__init__(environment)
    self.task_id = int(task_id)

  def _strip(self, timestep):
    return timestep._replace(observation={**timestep.observation,
                                          "task_id": np.int32(self.task_id)})

  def observation_spec(self):
    return self.environment.observation_spec()


class _GoalFromTask:
  """The PointMaze expert for a `HiddenGoal` task: reads the goal from the
  simulator instead of the (hidden) observation."""

  def __init__(self, expert, gym_env):
    self.expert, self.gym_env, self.rng = expert, gym_env, expert.rng

  def begin_episode(self):
    self.expert.begin_episode()

  def select_action(self, observation):
    goal = np.asarray(self.gym_env.unwrapped.goal, np.float32)
    return self.expert.select_action({**observation, "desired_goal": goal})


def _register_goal_task(task_id: int, goal_cell: tuple[int, int]) -> str:
  """``PointMazeTask_<id>``: the Medium maze with one fixed goal cell."""
  from gymnasium_robotics.envs.maze import maps  # pylint: disable=g-import-not-at-top
  from pa_rl import environments  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import presets  # pylint: disable=g-import-not-at-top
  from pa_rl.environments import maze_expert  # pylint: disable=g-import-not-at-top
  name = f"PointMazeTask_{task_id}"
  if name in environments.registered_environments():
    return name
  maze_map = [list(row) for row in maps.MEDIUM_MAZE]
  if maze_map[goal_cell[0]][goal_cell[1]] != 0:
    raise ValueError(f"goal cell {goal_cell} is not free floor")
  maze_map[goal_cell[0]][goal_cell[1]] = "g"
  steps = presets.POINTMAZE_TIME_LIMIT["Medium"]
  environments.register_environment(
      name, lambda seed=0: HiddenGoal(environments.make_environment(
          "PointMaze_Medium-v3", seed=seed, max_episode_steps=steps, maze_map=maze_map)))

  def expert(env, rng):
    gym_env = env.environment.gym_env
    spec = env.action_spec()
    return _GoalFromTask(maze_expert.PointMazeExpert(
        gym_env.unwrapped.maze, spec.minimum, spec.maximum, rng), gym_env)
  if not environments.has_expert(name):
    environments.register_expert(name, expert)
  return name


# ----------------------------------------------------------------------------
# Evaluation.


class ScriptedActor:
  """A behaviour policy (expert, random) as an Acme-style actor."""

  def __init__(self, policy):
    self.policy = policy

  def observe_first(self, timestep):
    del timestep
    self.policy.begin_episode()

  def select_action(self, observation):
    return self.policy.select_action(observation)

  def observe(self, action, next_timestep):
    del action, next_timestep

  def update(self, wait=False):
    del wait


def _eval_envs(task: Task, seed: int) -> list[dm_env.Environment]:
  """One environment per task id, seeded so that every method (and both
  reference policies) meets the same starts and goals."""
  from pa_rl import environments  # pylint: disable=g-import-not-at-top
  envs = [environments.make_environment(name, seed=10_000 + 100 * seed + i)
          for i, name in enumerate(task.envs)]
  if len(envs) > 1:
    envs = [WithTaskId(env, i) for i, env in enumerate(envs)]
  return envs


def success_rate(task: Task, seed: int, make_actor: Callable[[dm_env.Environment, int], Any],
                 episodes: int) -> float:
  """The task's metric (success rate or mean return) over ``episodes``
  episodes per task id (mean over tasks)."""
  from pa_rl.agents import evaluation  # pylint: disable=g-import-not-at-top
  rates = []
  for i, env in enumerate(_eval_envs(task, seed)):
    rates.append(evaluation.evaluate(make_actor(env, i), env, episodes)[task.metric])
    env.close()
  return float(np.mean(rates))


def reference_scores(task: Task, seed: int, episodes: int, workdir: str) -> dict[str, float]:
  """Random and expert on the evaluation episodes; the locomotion expert is
  the final SAC policy (its mode)."""
  from pa_rl import environments  # pylint: disable=g-import-not-at-top
  out = {}
  for kind in ("random", "expert"):
    if kind == "expert" and task.metric == "return":
      expert = _sac_policies(task, workdir)["final"]
      out[kind] = success_rate(task, seed, agent_actor(expert, seed), episodes)
      continue

    def make(env, i, kind=kind):
      inner = env.environment if isinstance(env, WithTaskId) else env
      return ScriptedActor(environments.make_behaviour_policy(
          task.envs[i], inner, kind=kind, seed=seed))
    out[kind] = success_rate(task, seed, make, episodes)
  return out


# ----------------------------------------------------------------------------
# Data and training.


def collect_dataset(task: Task, workdir: str, seed: int):
  """Collects (once per seed) and loads the task's mixed-quality data."""
  import pa_rl as ljx  # pylint: disable=g-import-not-at-top
  from pa_rl.datasets import collection  # pylint: disable=g-import-not-at-top
  if task.metric == "return":
    paths, data_return = _locomotion_data(task, workdir)
    dataset = ljx.OfflineDataset.load_from_paths(paths, normalize=True, seed=seed,
                                                 discount=task.discount, n_step=task.n_step,
                                                 task_ids=None)
    return dataset, data_return
  paths, stats = [], []
  for i, env_name in enumerate(task.envs):
    path = os.path.join(workdir, "data", f"seed{seed}_{i}")
    stats_path = path + ".json"
    if not os.path.exists(stats_path):
      stat = collection.collect(env_name, path, seed=seed * 1000 + i, task_id=i,
                                overwrite=True, **task.data)
      file_utils.write_json_atomic(stats_path, stat)
    with open(stats_path) as f:
      stats.append(json.load(f))
    paths.append(path)
  dataset = ljx.OfflineDataset.load_from_paths(paths, normalize=True, seed=seed,
                                               discount=task.discount, n_step=task.n_step)
  data_success = float(np.mean([s["success_rate"] or 0.0 for s in stats]))
  return dataset, data_success


def _sac_agent(task: Task, meta, seed: int):
  import pa_rl as ljx  # pylint: disable=g-import-not-at-top
  p = task.presets["sac"]
  policy = ljx.create_policy_model("gaussian", seed, meta, p["gaussian"])
  critic = ljx.create_q_critic("ensemble", seed + 1, meta, p["critic"])
  return ljx.create_agent("sac", policy, critic, seed + 2,
                          {"batch_size": task.data["batch_size"], "discount": task.discount})


def _sac_policies(task: Task, workdir: str) -> dict[str, Any]:
  """The locomotion behaviour policies. Trains SAC once (shared by every
  dataset kind and seed; cached in ``<workdir>/../<env>_sac``), saving a
  snapshot and the episodes played since the last one every
  ``snapshot_every`` steps. Returns ``{"final": agent, "medium": agent,
  "info": dict}``."""
  from pa_rl import environments  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import evaluation  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import state as state_lib  # pylint: disable=g-import-not-at-top
  from pa_rl.datasets import collection  # pylint: disable=g-import-not-at-top
  from pa_rl.datasets import rlds_io  # pylint: disable=g-import-not-at-top
  d = task.data
  sac_dir = os.path.join(os.path.dirname(os.path.abspath(workdir)),
                         f"{task.envs[0]}_sac_{d['num_steps']}")
  info_path = os.path.join(sac_dir, "sac.json")
  env = environments.make_environment(task.envs[0], seed=0)
  meta = collection.shape_meta_for(env)
  if not os.path.exists(info_path):
    os.makedirs(sac_dir, exist_ok=True)
    eval_env = environments.make_environment(task.envs[0], seed=30_000)
    snapshots, curve, start = [], [], time.time()

    def new_writer():
      return rlds_io.RLDSWriter(
          os.path.join(sac_dir, f"episodes_{len(snapshots)}"),
          collection.observation_specs(env), meta.action_dim, meta.normalizer.action_low,
          meta.normalizer.action_high, env_name=task.envs[0], overwrite=True,
          extra_metadata={"policy": "sac"})
    writer = [new_writer()]

    def on_episode(index, stats, steps, agent):
      writer[0].add_episode(steps, {"task_id": 0, "success": False, "policy": "sac"})
      curve.append((stats["env_steps"], stats["return"]))
      print(f"[sac] episode {index}: return {stats['return']:.0f} "
            f"({stats['env_steps']} steps, {time.time() - start:.0f}s)", flush=True)
      due = (len(snapshots) + 1) * d["snapshot_every"]
      if stats["env_steps"] >= min(due, d["num_steps"]):
        episodes_dir = writer[0].close()
        score = evaluation.evaluate(evaluation.make_actor(agent, seed=0), eval_env,
                                    2)[task.metric]
        path = os.path.join(sac_dir, f"snapshot_{stats['env_steps']}.npz")
        state_lib.save_checkpoint(path, agent.state, {"env_steps": stats["env_steps"]})
        snapshots.append({"env_steps": stats["env_steps"], "return": score, "path": path,
                          "episodes_dir": episodes_dir})
        print(f"[sac] snapshot at {stats['env_steps']} steps: eval return {score:.0f}",
              flush=True)
        writer[0] = new_writer()

    evaluation.train_online(_sac_agent(task, meta, seed=0), env, num_steps=d["num_steps"],
                            seed=0, start_steps=d["start_steps"], on_episode=on_episode)
    writer[0].abort()  # Nothing was played after the last snapshot.
    eval_env.close()
    final = snapshots[-1]["return"]
    medium = min(snapshots[:-1] or snapshots,
                 key=lambda s: abs(s["return"] - d["medium_fraction"] * final))
    file_utils.write_json_atomic(info_path, {
        "snapshots": snapshots, "final": snapshots[-1], "medium": medium,
        "train_curve": curve, "seconds": round(time.time() - start, 1)})
  with open(info_path) as f:
    info = json.load(f)
  out = {"info": info}
  for name in ("final", "medium"):
    agent = _sac_agent(task, meta, seed=0)
    state, _ = state_lib.load_checkpoint(info[name]["path"], agent.state)
    out[name] = agent.replace(state=state)
  env.close()
  return out


def _locomotion_data(task: Task, workdir: str) -> tuple[list[str], float]:
  """``medium``: episodes of the medium SAC snapshot (policy samples);
  ``medium_replay``: SAC's own episodes up to that snapshot (random warm-up
  included). Returns the dataset paths and the data's mean episode return."""
  from pa_rl.agents import evaluation  # pylint: disable=g-import-not-at-top
  from pa_rl.datasets import collection  # pylint: disable=g-import-not-at-top
  policies = _sac_policies(task, workdir)
  info = policies["info"]
  if task.data["kind"] == "medium":
    path = os.path.join(workdir, "data", "medium")
    stats_path = path + ".json"
    if not os.path.exists(stats_path):
      stat = collection.collect(
          task.envs[0], path, policy="sac_medium", num_episodes=task.data["num_episodes"],
          seed=0, overwrite=True, behaviour=evaluation.AgentBehaviour(policies["medium"], seed=0))
      file_utils.write_json_atomic(stats_path, stat)
    with open(stats_path) as f:
      return [path], float(json.load(f)["mean_return"])
  if task.data["kind"] == "medium_replay":
    last = info["medium"]["env_steps"]
    snapshots = [s for s in info["snapshots"] if s["env_steps"] <= last]
    returns = [r for steps, r in info["train_curve"] if steps <= last]
    return [s["episodes_dir"] for s in snapshots], float(np.mean(returns))
  raise ValueError(f"unknown locomotion data kind {task.data['kind']!r}")


def make_agent(task: Task, method: str, meta, seed: int):
  import pa_rl as ljx  # pylint: disable=g-import-not-at-top
  agent_type, policy_type, needs_critic = _AGENTS[method]
  p = task.presets
  policy = ljx.create_policy_model(policy_type, seed, meta, p[policy_type])
  critic, config = None, {"batch_size": p["rl"]["batch_size"]}
  if needs_critic:
    critic_cfg = dict(p["critic"])
    if agent_type == "iql":
      critic_cfg["value_head"] = True
    critic = ljx.create_q_critic("ensemble", seed + 1, meta, critic_cfg)
    base = {k: v for k, v in p["rl"].items()
            if k in ("batch_size", "critic_lr", "tau", "discount")}
    config = {"iql": base,
              "calql": {**base, "num_cql_actions": p["rl"]["num_cql_actions"]}
              }.get(agent_type, p["rl"])
  return ljx.create_agent(agent_type, policy, critic, seed + 2, config)


def agent_actor(agent, seed):
  from pa_rl.agents import evaluation  # pylint: disable=g-import-not-at-top
  return lambda env, i: evaluation.make_actor(agent, seed=seed)


def _train(task: Task, method: str, dataset, seed: int, refs: dict[str, float]):
  """Trains one method; returns (agent, final success, curve, seconds)."""
  import jax  # pylint: disable=g-import-not-at-top
  agent = make_agent(task, method, dataset.shape_meta, seed)
  num_steps = _budget(task, method)
  every = max(1, num_steps // task.curve_points)
  batch_size = agent.config.batch_size
  curve, start, trained = [], time.time(), 0
  while trained < num_steps:
    for _ in range(min(every, num_steps - trained)):
      dataset, batch = dataset.sample(batch_size)
      state, _ = agent.functions.update(agent.state, batch)
      agent = agent.replace(state=state)
    trained = min(num_steps, trained + every)
    jax.block_until_ready(agent.state)
    if trained < num_steps:
      rate = success_rate(task, seed, agent_actor(agent, seed), task.curve_episodes)
      curve.append((trained, normalize(rate, refs)))
  seconds = time.time() - start
  final = success_rate(task, seed, agent_actor(agent, seed), task.eval_episodes)
  curve.append((num_steps, normalize(final, refs)))
  return agent, dataset, final, curve, seconds


def _finetune(task: Task, agent, dataset, seed: int, refs: dict[str, float]):
  """Online PA-RL fine-tuning of ``agent`` for ``task.online_episodes``."""
  from pa_rl import environments  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import evaluation  # pylint: disable=g-import-not-at-top
  if len(task.envs) > 1:
    raise ValueError("online fine-tuning runs on single-task settings only")
  env = environments.make_environment(task.envs[0], seed=20_000 + seed)
  episodes = []
  start = time.time()
  config = {**task.presets["rl"], **task.presets["online"]}
  tuned, _ = evaluation.finetune_online(
      agent, env, dataset, num_episodes=task.online_episodes, seed=seed, config=config,
      on_episode=lambda i, stats: episodes.append(stats["success"]))
  seconds = time.time() - start
  env.close()
  final = success_rate(task, seed, agent_actor(tuned, seed), task.eval_episodes)
  return final, [float(s) for s in episodes], seconds


def normalize(success: float, refs: dict[str, float]) -> float:
  span = refs["expert"] - refs["random"]
  return 100.0 * (success - refs["random"]) / span if span > 0 else float("nan")


def _budget(task: Task, method: str) -> int | str:
  """What a run of ``method`` trains for: offline updates, or the online
  episodes (the table's ``updates`` column)."""
  if method == "parl_diffusion_online":
    return f"+{task.online_episodes} episodes"
  return task.steps["bc" if method.endswith("_bc") else "rl"]


def run_seed(task: Task, methods: list[str], seed: int, workdir: str, log=print) -> list[dict]:
  """Runs ``methods`` on one seed; results are cached as JSON in ``workdir``."""
  from pa_rl.agents import functional  # pylint: disable=g-import-not-at-top
  os.makedirs(workdir, exist_ok=True)
  dataset, data_success = collect_dataset(task, workdir, seed)
  ref_path = os.path.join(workdir, f"references_seed{seed}.json")
  if not os.path.exists(ref_path):
    file_utils.write_json_atomic(ref_path,
                                 reference_scores(task, seed, task.eval_episodes, workdir))
  with open(ref_path) as f:
    refs = json.load(f)
  log(f"[{task.name} seed {seed}] data {task.metric} {data_success:.3g}; references {refs}")
  results = []
  agents = {}
  for method in methods:
    path = os.path.join(workdir, f"{method}_seed{seed}.json")
    budget = _budget(task, method)
    if os.path.exists(path):
      with open(path) as f:
        cached = json.load(f)
      # A run with another budget (e.g. --online_episodes) is not this run.
      if cached.get("updates") == budget:
        results.append(cached)
        continue
      log(f"[{task.name} seed {seed}] {method}: the cached run had budget "
          f"{cached.get('updates')!r}, not {budget!r}; running it again")
    if method == "parl_diffusion_online":
      if "parl_diffusion" not in agents:
        agents["parl_diffusion"] = _train(task, "parl_diffusion", dataset, seed, refs)
      agent, data, offline, _, _ = agents["parl_diffusion"]
      success, curve, seconds = _finetune(task, agent, data, seed, refs)
      result = {"offline_success": offline, "online_curve": curve, "updates": budget}
    else:
      agents[method] = _train(task, method, dataset, seed, refs)
      _, _, success, curve, seconds = agents[method]
      result = {"curve": curve, "updates": budget}
    result.update({"method": method, "seed": seed, "success": success,
                   "score": normalize(success, refs), "seconds": round(seconds, 1),
                   "random_success": refs["random"], "expert_success": refs["expert"],
                   "data_success": data_success})
    file_utils.write_json_atomic(path, result)
    results.append(result)
    log(f"[{task.name} seed {seed}] {method}: {task.metric} {success:.3g}, "
        f"score {result['score']:.1f} ({seconds:.0f}s)")
    functional.clear_cache()
  return results


# ----------------------------------------------------------------------------
# Reports.


# One CSV row per run. The ``success`` fields hold the task's metric (success
# rate or return) and are named after it; the curves are JSON lists.
_CSV_COLUMNS = ("method", "seed", "updates", "success", "score", "random_success",
                "expert_success", "data_success", "seconds", "offline_success", "curve",
                "online_curve")
_CSV_JSON = ("curve", "online_curve")
# Every report has these (older CSVs lack the later ones).
_CSV_REQUIRED = _CSV_COLUMNS[:9]


def _csv_name(task: Task, column: str) -> str:
  return column.replace("success", task.metric)


def read_csv_results(task: Task, path: str) -> list[dict]:
  """The runs of an earlier report's ``<task>.csv`` as result dicts (the form
  `run_seed` returns), for a table over seeds whose cached runs are gone.
  CSVs written before the curve columns existed give runs without curves.

  Raises:
    ValueError: the file lacks a column the table needs (e.g. another task's
      CSV, whose metric differs), or a row's method is unknown.
  """
  with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
  needed = [_csv_name(task, c) for c in _CSV_REQUIRED]
  missing = [c for c in needed if rows and c not in rows[0]]
  if missing:
    raise ValueError(f"{path} lacks the columns {missing} of a {task.name} report "
                     f"(metric {task.metric!r})")
  results = []
  for row in rows:
    if row["method"] not in METHODS:
      raise ValueError(f"{path}: unknown method {row['method']!r}")
    result = {"method": row["method"], "seed": int(row["seed"])}
    updates = row["updates"]
    result["updates"] = int(updates) if updates.isdigit() else updates
    for column in _CSV_COLUMNS[3:]:  # After method, seed and updates.
      value = row.get(_csv_name(task, column), "")
      if value == "":
        continue
      result[column] = json.loads(value) if column in _CSV_JSON else float(value)
    results.append(result)
  return results


def _mean_std(values):
  values = np.asarray(values, float)
  return float(np.mean(values)), float(np.std(values))


def write_report(task: Task, results: list[dict], results_dir: str, note: str = "") -> dict:
  """Writes ``<task>.md``, ``<task>.csv`` and ``<task>_curves.png``."""
  os.makedirs(results_dir, exist_ok=True)
  prefix = os.path.join(results_dir, task.name)
  # Written atomically: --previous_csv may name this very file.
  table = io.StringIO()
  writer = csv.writer(table)
  writer.writerow([_csv_name(task, c) for c in _CSV_COLUMNS])
  for r in results:
    writer.writerow([json.dumps(r[c]) if c in _CSV_JSON and c in r else r.get(c, "")
                     for c in _CSV_COLUMNS])
  file_utils.write_text_atomic(prefix + ".csv", table.getvalue())
  methods = [m for m in METHODS if any(r["method"] == m for r in results)]
  summary = {}
  lines = [f"# Learning results: {task.name}", "",
           f"Environments: {', '.join(task.envs)}. Data per environment: "
           f"{_describe_data(task)}; discount {task.discount}, {task.n_step}-step TD targets. "
           f"Final evaluation: {task.eval_episodes} episodes per seed"
           f"{' and task' if len(task.envs) > 1 else ''}.", "",
           "Normalized score: 0 = uniform random actions, 100 = "
           f"{'the scripted expert' if task.metric == 'success' else 'the final SAC policy'}"
           ", both measured on the same evaluation episodes as the methods.", ""]
  seeds = sorted({r["seed"] for r in results})
  refs = {k: _mean_std([r[k] for r in results if r["method"] == methods[0]])
          for k in ("random_success", "expert_success", "data_success")}
  if task.metric == "success":
    show, column = (lambda v: f"{100 * v:.1f}"), "success %"
    lines += [f"References (mean over seeds {seeds}): random policy success "
              f"{refs['random_success'][0]:.1%}, scripted expert "
              f"{refs['expert_success'][0]:.1%}, behaviour data {refs['data_success'][0]:.1%}.",
              ""]
  else:
    show, column = (lambda v: f"{v:.0f}"), "return"
    lines += [f"References (mean over seeds {seeds}): random policy return "
              f"{refs['random_success'][0]:.0f}, expert (final SAC policy) return "
              f"{refs['expert_success'][0]:.0f}, behaviour data {refs['data_success'][0]:.0f}.",
              ""]
  lines += [f"| method | updates | {column} | normalized score | per seed (score) | train s |",
            "|---|---|---|---|---|---|"]
  for m in methods:
    rows = sorted((r for r in results if r["method"] == m), key=lambda r: r["seed"])
    success, score = _mean_std([r["success"] for r in rows]), _mean_std(
        [r["score"] for r in rows])
    summary[m] = {"success": success[0], "score": score[0], "score_std": score[1],
                  "seeds": len(rows)}
    per_seed = ", ".join(f"{r['score']:.0f}" for r in rows)
    lines.append(f"| {LABELS[m]} | {rows[0]['updates']} | {show(success[0])} ± "
                 f"{show(success[1])} | {score[0]:.1f} ± {score[1]:.1f} | {per_seed} | "
                 f"{np.mean([r['seconds'] for r in rows]):.0f} |")
  if note:
    lines += ["", note]
  file_utils.write_text_atomic(prefix + ".md", "\n".join(lines) + "\n")
  _plot(task, results, methods, prefix + "_curves.png")
  return summary


def _describe_data(task: Task) -> str:
  d = task.data
  if task.metric == "return":
    what = {"medium": f"{d['num_episodes']} episodes of the medium SAC policy (policy samples)",
            "medium_replay": "every episode of the SAC run up to the medium snapshot"}
    return (f"{what.get(d['kind'], d['kind'])}; SAC trained {d['num_steps']} steps "
            f"({d['start_steps']} random)")
  mix = d.get("mixture")
  if d.get("policy") == "mixed" and mix:
    parts = [f"{mix[0]:.0%} expert", f"{mix[1]:.0%} noisy expert", f"{mix[2]:.0%} random"]
    if len(mix) > 3:
      parts.append(f"{mix[3]:.0%} random goal segments")
    parts = [p for p, m in zip(parts, mix) if m > 0]
    return (f"{d['num_episodes']} episodes, {' / '.join(parts)} "
            f"(noise std {d.get('noise_std')})")
  return f"{d.get('num_episodes')} episodes of the {d.get('policy')} policy"


def _plot(task: Task, results, methods, path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  online = [r for r in results if "online_curve" in r]
  fig, axes = plt.subplots(1, 2 if online else 1, figsize=(13 if online else 7, 4.5),
                           squeeze=False)
  ax = axes[0, 0]
  for m in methods:
    curves = [r["curve"] for r in results if r["method"] == m and "curve" in r]
    if not curves:
      continue
    steps = np.asarray([s for s, _ in curves[0]])
    values = np.asarray([[v for _, v in c] for c in curves if len(c) == len(steps)])
    mean = values.mean(0)
    line, = ax.plot(steps, mean, "-o", markersize=3, label=LABELS[m])
    ax.fill_between(steps, values.min(0), values.max(0), color=line.get_color(), alpha=0.15)
  ax.axhline(100, color="k", ls="--", lw=1,
             label="scripted expert" if task.metric == "success" else "final SAC policy")
  ax.axhline(0, color="gray", ls=":", lw=1, label="random policy")
  ax.set_xlabel("offline updates")
  ax.set_ylabel("normalized score")
  seeds = sorted({r["seed"] for r in results if "curve" in r})
  ax.set_title(f"{task.name}: offline training (mean, min-max over seeds "
               f"{', '.join(map(str, seeds))})", fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  if online:
    ax = axes[0, 1]
    curves = np.asarray([r["online_curve"] for r in online], float)
    episodes = np.arange(1, curves.shape[1] + 1)
    running = np.cumsum(curves, axis=1) / episodes
    window = max(1, curves.shape[1] // 5)
    kernel = np.ones(window) / window
    for r, c in zip(online, curves):
      smooth = np.convolve(c, kernel, mode="valid")
      ax.plot(episodes[window - 1:], 100 * smooth, alpha=0.5,
              label=f"seed {r['seed']} (mean of last {window})")
    ax.plot(episodes, 100 * running.mean(0), "k-", lw=2, label="all seeds, cumulative")
    offline = np.mean([r["offline_success"] for r in online])
    final = np.mean([r["success"] for r in online])
    ax.axhline(100 * offline, color="tab:blue", ls=":", label=f"offline eval {offline:.0%}")
    ax.axhline(100 * final, color="tab:green", ls="--", label=f"after fine-tuning {final:.0%}")
    ax.set_ylim(-5, 105)
    ax.set_xlabel("online episodes")
    ax.set_ylabel("exploration success %")
    ax.set_title("PA-RL (diffusion) online fine-tuning")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
  fig.tight_layout()
  file_utils.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100), binary=True)
  plt.close(fig)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--task", default="pointmaze_medium", choices=TASKS)
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--methods", default=None,
                      help="default: all (online fine-tuning only where the task has a "
                           "budget for it)")
  parser.add_argument("--quick", action="store_true",
                      help="tiny sizes: checks the pipeline end to end in seconds")
  parser.add_argument("--workdir", default=None,
                      help="per-run cache (default /tmp/pa_rl_learning/<task>[_quick])")
  parser.add_argument("--results_dir", default=None,
                      help="default benchmarks/results (quick: <workdir>/results)")
  parser.add_argument("--note", default="", help="text appended under the table (@path: read it from a file)")
  parser.add_argument("--report_only", action="store_true",
                      help="rewrite the table from the cached results; train nothing")
  parser.add_argument("--online_episodes", type=int, default=None,
                      help="online fine-tuning budget in episodes (default: the task's)")
  parser.add_argument("--previous_csv", default=None,
                      help="an earlier report's <task>.csv whose runs join the table (runs "
                           "of this invocation replace those of the same method and seed)")
  args = parser.parse_args(argv)
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  task = make_task(args.task, args.quick)
  if args.online_episodes is not None:
    if args.online_episodes < 1:
      raise SystemExit(f"--online_episodes must be >= 1; got {args.online_episodes}")
    task = dataclasses.replace(task, online_episodes=args.online_episodes)
  if args.methods is None:
    methods = [m for m in METHODS if task.online_episodes or m != "parl_diffusion_online"]
  else:
    methods = [m for m in args.methods.split(",") if m]
  unknown = sorted(set(methods) - set(METHODS))
  if unknown:
    raise SystemExit(f"unknown methods {unknown}; choose from: {', '.join(METHODS)}")
  seeds = [int(s) for s in args.seeds.split(",") if s]
  workdir = args.workdir or os.path.join(
      "/tmp/pa_rl_learning", task.name + ("_quick" if args.quick else ""))
  results_dir = args.results_dir or (
      os.path.join(workdir, "results") if args.quick
      else os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
  results = []
  if args.report_only:
    for seed in seeds:
      for method in methods:
        path = os.path.join(workdir, f"{method}_seed{seed}.json")
        if os.path.exists(path):
          with open(path) as f:
            results.append(json.load(f))
    seeds = []
    if not results and not args.previous_csv:
      raise SystemExit(f"no cached results under {workdir}")
  note = args.note
  if note.startswith("@"):
    with open(note[1:]) as f:
      note = f.read().strip()
  previous = read_csv_results(task, args.previous_csv) if args.previous_csv else []

  def table_rows():
    done = {(r["method"], r["seed"]) for r in results}
    return [r for r in previous if (r["method"], r["seed"]) not in done] + results

  for seed in seeds:
    results += run_seed(task, methods, seed, workdir, log=lambda s: print(s, flush=True))
    write_report(task, table_rows(), results_dir, note)
  summary = write_report(task, table_rows(), results_dir, note)
  print(json.dumps(summary, indent=1))
  print(f"wrote {results_dir}/{task.name}.md, .csv, _curves.png")
  return summary


if __name__ == "__main__":
  main()
