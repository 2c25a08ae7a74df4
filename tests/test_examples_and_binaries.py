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


def test_quickstart_runs_and_writes_its_result(tmp_path):
  result = _run(["-m", "pa_rl.binaries.quickstart", f"--workdir={tmp_path / 'work'}",
                 "--num_steps=3", "--eval_episodes=2"], tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "PA-RL (diffusion) success rate on two_routes" in result.stdout
  with open(tmp_path / "work" / "quickstart_result.json") as f:
    summary = json.load(f)
  assert summary["updates"] == 3 and 0.0 <= summary["success_rate"] <= 1.0
  assert os.path.isdir(tmp_path / "work" / "data" / "two_routes_mixed")


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
