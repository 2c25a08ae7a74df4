r"""Collects episodes of a behaviour policy into an RLDS dataset on disk.

  python -m pa_rl.binaries.collect --env=two_routes --policy=mixed \
      --num_episodes=200 --output_dir=/tmp/two_routes_mixed
"""

from absl import app
from absl import flags
from absl import logging

from pa_rl.datasets import collection

_ENV = flags.DEFINE_string("env", "two_routes", "Environment name (see README).")
_POLICY = flags.DEFINE_enum("policy", "expert", ["expert", "noisy", "random", "segments",
                                                  "mixed"], "Behaviour policy.")
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
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing dataset.")


def main(argv):
  del argv
  stats = collection.collect(
      _ENV.value, _OUTPUT_DIR.value, policy=_POLICY.value, num_episodes=_NUM_EPISODES.value,
      seed=_SEED.value, noise_std=_NOISE_STD.value, task_id=_TASK_ID.value,
      overwrite=_OVERWRITE.value,
      mixture=None if _MIXTURE.value is None else [float(p) for p in _MIXTURE.value])
  logging.info("collected %s", stats)
  success = stats["success_rate"]
  print(f"Wrote {stats['episodes']} episodes ({stats['transitions']} transitions) to "
        f"{stats['path']}; mean return {stats['mean_return']:.3f}"
        + (f", success rate {success:.1%}" if success is not None else ""))


if __name__ == "__main__":
  app.run(main)
