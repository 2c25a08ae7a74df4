r"""Trains an agent offline from an RLDS dataset (resumable).

  python -m pa_rl.binaries.train_offline \
      --gin_file=parl/diffusion_calql_builtin.gin --workdir=/tmp/pa_rl_runs/parl_builtin

Settings come from gin: --gin_file (repeatable; packaged configs by name) and
--gin_bindings (repeatable), e.g. --gin_bindings="train_offline.num_steps=1000".
Re-running with the same --workdir resumes from its newest checkpoint.
"""

from pa_rl.binaries import common
from pa_rl.binaries import running


def main(argv):
  running.check_no_arguments(argv)
  workdir = common.WORKDIR.value
  common.parse_gin()
  from pa_rl import gin_registration  # pylint: disable=g-import-not-at-top
  gin_registration.train_offline(workdir=workdir,
                                 on_start=common.config_writer(workdir),
                                 after_first_step=common.operative_writer(workdir))


if __name__ == "__main__":
  running.run(main)
