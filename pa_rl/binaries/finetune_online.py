r"""Fine-tunes a PA-RL agent online, starting from a train_offline workdir (resumable).

  python -m pa_rl.binaries.finetune_online --gin_file=online/builtin.gin \
      --offline_workdir=/tmp/pa_rl_runs/parl_builtin --workdir=/tmp/pa_rl_runs/parl_builtin_online

Settings come from gin (--gin_file, --gin_bindings), e.g.
--gin_bindings="finetune_online.num_episodes=50". Re-running with the same
--workdir resumes from its newest checkpoint.
"""

from absl import flags

from pa_rl.binaries import common
from pa_rl.binaries import running

_OFFLINE_WORKDIR = flags.DEFINE_string(
    "offline_workdir", None, "The train_offline workdir to start from (else the gin binding "
    "finetune_online.offline_workdir).")


def main(argv):
  running.check_no_arguments(argv)
  workdir = common.WORKDIR.value
  common.parse_gin()
  from pa_rl import gin_registration  # pylint: disable=g-import-not-at-top
  kwargs = {}
  if _OFFLINE_WORKDIR.value:
    kwargs["offline_workdir"] = _OFFLINE_WORKDIR.value
  gin_registration.finetune_online(workdir=workdir,
                                   on_start=common.config_writer(workdir),
                                   after_first_step=common.operative_writer(workdir), **kwargs)


if __name__ == "__main__":
  running.run(main)
