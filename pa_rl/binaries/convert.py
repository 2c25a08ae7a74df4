r"""Converts a dict-of-arrays dataset (OGBench or D4RL layout) into RLDS.

  # An OGBench file, relabelled for one task (OGBench's own relabelling):
  python -m pa_rl.binaries.convert --input=scene-play-v0.npz \
      --env=scene-play-singletask-task2-v0 --output_dir=/data/scene_task2
  # A D4RL file (terminals = termination, timeouts = time limit):
  python -m pa_rl.binaries.convert --input=hopper-medium-v2.hdf5 --env=Hopper-v5 \
      --output_dir=/data/hopper_medium

See `pa_rl.datasets.importers` for how each layout is read.
"""

from absl import flags

from pa_rl.binaries import running

_INPUT = flags.DEFINE_string("input", None, "A .npz or .hdf5 file.", required=True)
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "RLDS dataset directory to write.",
                                  required=True)
_ENV = flags.DEFINE_string(
    "env", None, "The environment the data belongs to (its action bounds and name are "
    "recorded); an OGBench single-task name relabels rewards for that task.")
_LAYOUT = flags.DEFINE_enum("layout", "auto", ["auto", "ogbench", "d4rl"],
                            "File layout; auto: d4rl when the file has 'timeouts'.")
_OVERWRITE = flags.DEFINE_bool(
    "overwrite", False, "Replace the dataset at --output_dir; only a dataset this library "
    "wrote, holding nothing else, is replaced (anything else is refused, never removed).")


def main(argv):
  from pa_rl.datasets import importers  # pylint: disable=g-import-not-at-top
  running.check_no_arguments(argv)
  info = importers.convert(_INPUT.value, _OUTPUT_DIR.value, env=_ENV.value,
                           layout=_LAYOUT.value, overwrite=_OVERWRITE.value)
  success = info["success_rate"]
  print(f"Wrote {info['episodes']} episodes ({info['transitions']} transitions, "
        f"{info['layout']} layout, rewards: {info['reward_source']}) to {info['path']}; "
        f"{info['terminal_fraction']:.1%} of transitions have discount 0"
        + (f"; {success:.1%} of episodes reach the task's goal" if success is not None
           else ""))


if __name__ == "__main__":
  running.run(main)
