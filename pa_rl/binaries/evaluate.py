r"""Evaluates the newest checkpoint of a training workdir; writes results and pictures.

  python -m pa_rl.binaries.evaluate --workdir=/tmp/pa_rl_runs/parl_builtin

Writes <workdir>/eval/: eval_<step>.json, learning_curve.png, rollout_<step>.gif
(and this binary's config.gin / operative_config.gin). Settings come from gin,
e.g. --gin_bindings="evaluate.num_episodes=50".
"""

import os

from absl import app

from pa_rl.binaries import common
from pa_rl.binaries import running


def main(argv):
  running.check_no_arguments(argv)
  workdir = common.WORKDIR.value
  if not os.path.isdir(workdir):
    raise app.UsageError(f"--workdir={workdir} does not exist; pass a train_offline or "
                         "finetune_online workdir")
  eval_dir = os.path.join(workdir, "eval")
  common.parse_gin()
  common.config_writer(eval_dir)()
  from pa_rl import gin_registration  # pylint: disable=g-import-not-at-top
  gin_registration.evaluate(workdir=workdir, after_first_step=common.operative_writer(eval_dir))


if __name__ == "__main__":
  running.run(main)
