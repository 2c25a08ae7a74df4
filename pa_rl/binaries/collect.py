r"""Collects episodes of a behaviour policy into an RLDS dataset on disk.

  python -m pa_rl.binaries.collect --env=two_routes --policy=mixed \
      --num_episodes=200 --output_dir=/tmp/two_routes_mixed

An OGBench dataset name (``scene-play-v0``, ``puzzle-3x3-play-v0``,
``pointmaze-medium-navigate-v0``; single-task ``scene-play-singletask-task2-v0``)
regenerates that dataset with OGBench's own oracles and recipe
(`pa_rl.datasets.ogbench_data`); ``--num_episodes`` defaults to the official
count there:

  python -m pa_rl.binaries.collect --env=scene-play-singletask-task2-v0 \
      --num_episodes=100 --output_dir=/data/scene_task2
"""

from absl import app
from absl import flags
from absl import logging

from pa_rl.binaries import running
from pa_rl.datasets import collection
from pa_rl.datasets import ogbench_data
from pa_rl.environments import ogbench_names

_ENV = flags.DEFINE_string("env", "two_routes", "Environment name (see README).")
_POLICY = flags.DEFINE_enum(
    "policy", None, ["expert", "noisy", "random", "segments", "mixed", "ogbench"],
    "Behaviour policy (default: ogbench, OGBench's recipe, for an OGBench dataset name; "
    "expert otherwise).")
_NUM_EPISODES = flags.DEFINE_integer("num_episodes", 100, "Episodes to collect.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Dataset directory to write.",
                                  required=True)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the environment and the policy.")
_NOISE_STD = flags.DEFINE_float("noise_std", 0.3,
                                "Action noise of the noisy and segments policies.")
_TASK_ID = flags.DEFINE_integer("task_id", 0, "Task id stored with each episode.")
_MIXTURE = flags.DEFINE_list("mixture", None, "For --policy=mixed: probabilities of expert, "
                             "noisy, random and (optionally) random goal segments "
                             "episodes, e.g. 0.2,0.3,0.5 or 0.2,0.3,0,0.5.")
_OVERWRITE = flags.DEFINE_bool(
    "overwrite", False, "Replace the dataset at --output_dir; only a dataset this library "
    "wrote, holding nothing else, is replaced (anything else is refused, never removed).")
_MAX_EPISODE_STEPS = flags.DEFINE_integer(
    "max_episode_steps", None, "OGBench datasets: steps per episode (default: the official "
    "length).")


def _collect_ogbench(dataset):
  given = [f"--{f.name}" for f in (_NOISE_STD, _MIXTURE, _TASK_ID) if f.present]
  if given or _POLICY.value not in (None, "ogbench"):
    raise app.UsageError(
        f"--env={dataset.name} is an OGBench dataset, generated with OGBench's own "
        f"recipe (--policy=ogbench); {', '.join(given) or f'--policy={_POLICY.value}'} "
        "does not apply to it")
  stats = ogbench_data.collect(
      dataset.name, _OUTPUT_DIR.value,
      num_episodes=_NUM_EPISODES.value if _NUM_EPISODES.present else None,
      seed=_SEED.value, overwrite=_OVERWRITE.value,
      max_episode_steps=_MAX_EPISODE_STEPS.value)
  logging.info("collected %s", stats)
  success = stats.get("success_rate")
  print(f"Wrote {stats['episodes']} episodes ({stats['transitions']} transitions, "
        f"{stats['episode_length']:.0f} steps each; rewards: {stats['reward_source']}) to "
        f"{stats['path']}"
        + (f"; {success:.1%} of episodes reach the task's goal, "
           f"{stats['success_state_fraction']:.2%} of steps are goal states"
           if success is not None else "")
        + f"; OGBench-layout source: {stats['source_npz']}")


def main(argv):
  running.check_no_arguments(argv)
  dataset = ogbench_names.resolve_dataset_name(_ENV.value)
  if dataset is not None:
    _collect_ogbench(dataset)
    return
  if _POLICY.value == "ogbench":
    raise app.UsageError(f"--policy=ogbench needs an OGBench dataset name as --env "
                         f"(e.g. scene-play-v0); got {_ENV.value!r}")
  if _MAX_EPISODE_STEPS.present:
    raise app.UsageError("--max_episode_steps applies to OGBench datasets only")
  stats = collection.collect(
      _ENV.value, _OUTPUT_DIR.value, policy=_POLICY.value or "expert",
      num_episodes=_NUM_EPISODES.value,
      seed=_SEED.value, noise_std=_NOISE_STD.value, task_id=_TASK_ID.value,
      overwrite=_OVERWRITE.value,
      mixture=None if _MIXTURE.value is None else [float(p) for p in _MIXTURE.value])
  logging.info("collected %s", stats)
  success = stats["success_rate"]
  print(f"Wrote {stats['episodes']} episodes ({stats['transitions']} transitions) to "
        f"{stats['path']}; mean return {stats['mean_return']:.3f}"
        + (f", success rate {success:.1%}" if success is not None else ""))


if __name__ == "__main__":
  running.run(main)
