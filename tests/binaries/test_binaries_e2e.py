"""train_offline -> evaluate -> finetune_online as subprocesses on the built-in
task (tiny networks, a few steps), and the binaries' flag and gin errors.

Resuming and finished runs are tested in-process (test_experiment_runner.py).
"""

import glob
import json
import os

import numpy as np
import pytest

from pa_rl import gin_registration

CONFIG = "parl/diffusion_calql_builtin.gin"

def _flags(bindings):
  return [f"--gin_bindings={b}" for b in bindings]


@pytest.fixture(scope="module")
def offline_run(two_routes_data, tmp_path_factory, run_binary, tiny_bindings):
  tmp = tmp_path_factory.mktemp("e2e")
  workdir = tmp / "offline"
  with open(os.path.join(gin_registration.CONFIG_DIR, CONFIG)) as f:
    tiny = tiny_bindings(f.read())  # The gin-config tests' sizes: shared compilations.
  args = [f"--workdir={workdir}", f"--gin_file={CONFIG}", *_flags(
      tiny + [f"train_offline.dataset_path = '{two_routes_data}'",
              "train_offline.num_steps = 3", "train_offline.log_every = 1",
              "train_offline.eval_every = 3", "train_offline.eval_episodes = 1",
              "train_offline.checkpoint_every = 2", "train_offline.env_kwargs = {'max_steps': 10}"])]
  result = run_binary("train_offline", args, tmp)
  return workdir, args, result, tmp


def test_train_offline_writes_its_files(offline_run):
  workdir, _, result, _ = offline_run
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Finished 3 steps" in result.stdout
  for name in ("config.gin", "operative_config.gin", "experiment.json", "train.csv",
               "eval.csv", "checkpoints/ckpt_2.npz", "checkpoints/ckpt_3.npz"):
    assert os.path.exists(workdir / name), name
  assert glob.glob(str(workdir / "tensorboard" / "events.out.tfevents.*"))
  config = (workdir / "config.gin").read_text()
  operative = (workdir / "operative_config.gin").read_text()
  assert "train_offline.num_steps = 3" in config
  # The operative config also holds the defaults nobody bound.
  assert "DiffusionPolicyConfig.beta_schedule = 'cosine'" in operative
  assert "DiffusionPolicyConfig.beta_schedule" not in config
  assert "train_offline: 3/3" in result.stderr  # The progress log line (no TTY here).


def test_evaluate_writes_results_curve_and_video(offline_run, run_binary):
  workdir, _, result, tmp = offline_run
  assert result.returncode == 0
  evaluated = run_binary("evaluate", [f"--workdir={workdir}",
                                      "--gin_bindings=evaluate.num_episodes = 2"], tmp)
  assert evaluated.returncode == 0, evaluated.stderr[-3000:]
  assert "Step 3: mean return" in evaluated.stdout
  out = workdir / "eval"
  for name in ("config.gin", "operative_config.gin", "eval_3.json", "learning_curve.png",
               "rollout_3.gif"):
    assert os.path.exists(out / name), name
  summary = json.loads((out / "eval_3.json").read_text())
  assert summary["step"] == 3 and len(summary["episodes"]) == 2
  # The critic's calibration and the chosen actions' distance from the data.
  # Every transition of the tiny dataset (fewer than the 2,048 examined by default).
  num_states = summary["diagnostics/num_states"]
  assert 50 < num_states < 2048
  assert f"On {num_states} data states: critic Q(s, a_data)" in evaluated.stdout
  assert np.isfinite(summary["diagnostics/q_minus_mc"])
  assert summary["diagnostics/action_distance_chosen"] > 0
  assert len(summary["diagnostics/action_abs_diff_chosen_per_dim"]) == 2
  assert "evaluate.num_episodes = 2" in (out / "operative_config.gin").read_text()


def test_finetune_online_writes_its_files(offline_run, run_binary):
  workdir, _, result, tmp = offline_run
  assert result.returncode == 0
  online = tmp / "online"
  tuned = run_binary("finetune_online", [
      f"--workdir={online}", f"--offline_workdir={workdir}", "--gin_file=online/builtin",
      *_flags(["finetune_online.num_episodes = 2", "finetune_online.eval_every = 0",
               "finetune_online.env_kwargs = {'max_steps': 3}"])], tmp)
  assert tuned.returncode == 0, tuned.stderr[-3000:]
  assert "Finished 2 online episodes (6 environment steps" in tuned.stdout
  for name in ("config.gin", "operative_config.gin", "experiment.json", "online.csv",
               "checkpoints/ckpt_9.npz", "checkpoints/ckpt_9.extra.npz"):
    assert os.path.exists(online / name), name


def test_unknown_binding_missing_workdir_and_unknown_file_fail_clearly(tmp_path, run_binary):
  unknown = run_binary("train_offline", [f"--workdir={tmp_path / 'w'}",
                                         "--gin_file=bc/gaussian_builtin.gin",
                                         "--gin_bindings=train_offline.num_stepz = 3"], tmp_path)
  assert unknown.returncode != 0
  assert "train_offline" in unknown.stderr and "num_stepz" in unknown.stderr
  assert not os.path.exists(tmp_path / "w")  # Nothing was started.
  missing = run_binary("finetune_online", ["--gin_file=online/builtin.gin"], tmp_path)
  assert missing.returncode != 0 and "--workdir" in missing.stderr
  with pytest.raises(gin_registration.GinConfigError,
                     match="'parl/nope.gin' is neither a file nor a packaged config; packaged "
                     "configs: bc/diffusion_builtin.gin"):
    gin_registration.resolve_gin_file("parl/nope.gin")
  assert gin_registration.resolve_gin_file("parl/diffusion_calql_builtin").endswith(
      os.path.join("configs", "parl", "diffusion_calql_builtin.gin"))
