"""The example and the binaries run end to end in a subprocess (few steps)."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(args, tmp_path):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
  return subprocess.run([sys.executable, *args], cwd=str(tmp_path), env=env,
                        capture_output=True, text=True, timeout=900)


def test_seed_readme_example_runs(tmp_path):
  result = _run([os.path.join(ROOT, "examples", "diff_rl_example.py"), "--num_steps=3",
                 "--batch_size=16", f"--data={tmp_path / 'data'}"], tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "first action (environment units)" in result.stdout
  assert "success rate over 20 episodes" in result.stdout


# What TensorFlow, TensorFlow Datasets and JAX print at INFO level.
_THIRD_PARTY_INFO = ("dataset_info.py", "reader.py:", "logging_logger.py", "py_utils.py",
                     "oneDNN", "port.cc", "cpu_feature_guard", "xla_bridge.py",
                     "absl::InitializeLog")


def test_quickstart_writes_pictures_and_stays_quiet(tmp_path):
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  env["JAX_PLATFORMS"] = "cpu"  # what a newcomer's shell has: nothing set
  work = tmp_path / "work"
  result = subprocess.run(
      [sys.executable, "-m", "pa_rl.binaries.quickstart", f"--workdir={work}",
       "--num_steps=3", "--eval_episodes=2", "--evals_during_training=2",
       "--video_episodes=1"], cwd=str(tmp_path), env=env, capture_output=True, text=True,
      timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "PA-RL (diffusion) success rate on two_routes" in result.stdout
  with open(work / "quickstart_result.json") as f:
    summary = json.load(f)
  assert summary["updates"] == 3 and 0.0 <= summary["success_rate"] <= 1.0
  assert os.path.isdir(work / "data" / "two_routes_mixed")
  for name, magic in (("learning_curve.png", b"\x89PNG"), ("routes.png", b"\x89PNG"),
                      ("rollout.gif", b"GIF8")):
    assert (work / name).read_bytes()[:len(magic)] == magic, name
    assert str(work / name) in result.stdout  # the paths are printed at the end
  with open(work / "eval.csv") as f:
    steps = [line.split(",")[0] for line in f.read().splitlines()[1:]]
  assert steps == ["2", "3"]  # one evaluation during training, one at the end
  assert (work / "train.csv").exists() and os.listdir(work / "tensorboard")
  output = result.stdout + result.stderr
  noisy = [line for line in output.splitlines() if any(p in line for p in _THIRD_PARTY_INFO)]
  assert not noisy, noisy[:5]


def test_verbosity_brings_third_party_info_back():
  import logging  # pylint: disable=g-import-not-at-top
  from absl import flags  # pylint: disable=g-import-not-at-top
  from pa_rl import binaries  # pylint: disable=g-import-not-at-top
  import tensorflow_datasets  # pylint: disable=g-import-not-at-top
  record = logging.LogRecord("absl", logging.INFO,
                             os.path.join(os.path.dirname(tensorflow_datasets.__file__),
                                          "core", "reader.py"), 1, "Creating...", (), None)
  ours = logging.LogRecord("absl", logging.INFO, binaries.__file__, 1, "train: 1/2", (), None)
  warning = logging.LogRecord("absl", logging.WARNING, record.pathname, 1, "careful", (), None)
  quiet = binaries.QuietThirdPartyInfo()
  parsed = flags.FLAGS.is_parsed()
  if not parsed:
    flags.FLAGS.mark_as_parsed()
  try:
    assert not quiet.filter(record) and quiet.filter(ours) and quiet.filter(warning)
    flags.FLAGS["verbosity"].present = 1
    assert quiet.filter(record)
  finally:
    flags.FLAGS["verbosity"].present = 0
    if not parsed:
      flags.FLAGS.unparse_flags()


def test_collect_binary_and_its_errors(tmp_path):
  out = tmp_path / "ds"
  result = _run(["-m", "pa_rl.binaries.collect", f"--output_dir={out}", "--num_episodes=3",
                 "--policy=noisy"], tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Wrote 3 episodes" in result.stdout
  again = _run(["-m", "pa_rl.binaries.collect", f"--output_dir={out}", "--num_episodes=3"],
               tmp_path)
  assert again.returncode != 0 and "already exists" in again.stderr
  missing = _run(["-m", "pa_rl.binaries.collect"], tmp_path)
  assert missing.returncode != 0 and "output_dir" in missing.stderr
  unknown = _run(["-m", "pa_rl.binaries.collect", f"--output_dir={tmp_path / 'x'}",
                  "--env=cheetah-rnu"], tmp_path)
  assert unknown.returncode != 0 and "cheetah-rnu" in unknown.stderr
