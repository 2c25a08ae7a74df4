"""OGBench through the binaries: collect with OGBench's oracles, convert, train
and evaluate (with a video) on an OGBench id, with no import line anywhere."""

import json
import os

import numpy as np
import ogbench
import pytest
import rlds

from pa_rl.datasets import rlds_io


TASK = "puzzle-3x3-play-singletask-task4-v0"


def test_collect_scene_play_writes_ogbench_data_that_loads(tmp_path, run_binary):
  out = tmp_path / "scene"
  result = run_binary("collect", ["--env=scene-play-v0", "--num_episodes=2",
                                  f"--output_dir={out}"], tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Wrote 2 episodes (2000 transitions, 1000 steps each" in result.stdout
  episodes, meta = rlds_io.load_episodes(str(out))
  assert meta["env_name"] == "scene-v0" and meta["policy"] == "ogbench"
  # The OGBench-layout source beside it: OGBench's own loader reads it, and it
  # holds the same transitions.
  source = ogbench.load_dataset(str(out / "ogbench" / "scene-play-v0.npz"))
  observations = np.concatenate([e[rlds.STEPS][rlds.OBSERVATION]["state"][:-1]
                                 for e in episodes])
  np.testing.assert_array_equal(observations, source["observations"])
  actions = np.concatenate([e[rlds.STEPS][rlds.ACTION][:-1] for e in episodes])
  np.testing.assert_array_equal(actions, source["actions"])
  assert np.abs(actions).max() <= 1.0 and actions.std() > 0.05  # the oracle moved


@pytest.fixture(scope="module")
def puzzle_run(tmp_path_factory, run_binary, tiny_bindings):
  """A 1-episode single-task dataset, and 2 updates of BC on it."""
  tmp = tmp_path_factory.mktemp("ogbench")
  data = tmp / "data"
  collected = run_binary("collect", [f"--env={TASK}", "--num_episodes=1",
                                     "--max_episode_steps=30", f"--output_dir={data}"], tmp)
  config = "bc/gaussian_ogbench.gin"
  workdir = tmp / "bc"
  from pa_rl import gin_registration  # pylint: disable=g-import-not-at-top
  with open(os.path.join(gin_registration.CONFIG_DIR, config)) as f:
    tiny = tiny_bindings(f.read())
  trained = run_binary("train_offline", [
      f"--workdir={workdir}", f"--gin_file={config}",
      *[f"--gin_bindings={b}" for b in tiny + [
          f"train_offline.dataset_path = '{data}'", "train_offline.num_steps = 2",
          "train_offline.eval_every = 0", "train_offline.log_every = 1",
          "train_offline.checkpoint_every = 2",
          "train_offline.env_kwargs = {'max_episode_steps': 8}"]]], tmp)
  return tmp, data, workdir, collected, trained


def test_singletask_collect_is_relabelled_and_trains(puzzle_run):
  _, data, workdir, collected, trained = puzzle_run
  assert collected.returncode == 0, collected.stderr[-3000:]
  assert "relabelled for puzzle-3x3-singletask-task4-v0" in collected.stdout
  episodes, meta = rlds_io.load_episodes(str(data))
  assert meta["env_name"] == "puzzle-3x3-singletask-task4-v0"
  rewards = episodes[0][rlds.STEPS][rlds.REWARD][:-1]
  assert rewards.max() <= 0 and rewards.min() < 0  # -1 per unlit button of the task
  assert trained.returncode == 0, trained.stderr[-3000:]
  assert "Finished 2 steps" in trained.stdout
  experiment = json.loads((workdir / "experiment.json").read_text())
  assert experiment["env_name"] == "puzzle-3x3-singletask-task4-v0"


def test_evaluate_ogbench_id_with_video(puzzle_run, run_binary):
  tmp, _, workdir, _, trained = puzzle_run
  assert trained.returncode == 0
  evaluated = run_binary("evaluate", [f"--workdir={workdir}",
                                      "--gin_bindings=evaluate.num_episodes = 1"], tmp)
  assert evaluated.returncode == 0, evaluated.stderr[-3000:]
  output = evaluated.stdout + evaluated.stderr
  assert "Skipping the rollout video" not in output, output[-3000:]
  gif = workdir / "eval" / "rollout_2.gif"
  assert gif.exists() and gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
  summary = json.loads((workdir / "eval" / "eval_2.json").read_text())
  assert summary["env_name"] == "puzzle-3x3-singletask-task4-v0"
  assert summary["episodes"][0]["length"] == 8


def test_convert_binary_relabels_another_task(puzzle_run, run_binary):
  tmp, data, _, _, _ = puzzle_run
  out = tmp / "task2"
  result = run_binary("convert", [f"--input={data}/ogbench/puzzle-3x3-play-v0.npz",
                                  "--env=puzzle-3x3-play-singletask-task2-v0",
                                  f"--output_dir={out}"], tmp)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "rewards: relabelled for puzzle-3x3-singletask-task2-v0" in result.stdout
  _, meta = rlds_io.load_episodes(str(out))
  assert meta["env_name"] == "puzzle-3x3-singletask-task2-v0"


@pytest.mark.parametrize("binary, args, message", [
    ("collect", ["--env=antmaze-medium-navigate-v0"], "SAC-trained antmaze locomotion expert"),
    ("collect", ["--env=scene-play-v0", "--noise_std=0.5"], "--noise_std does not apply"),
    ("collect", ["--env=two_routes", "--policy=ogbench"], "needs an OGBench dataset name"),
    ("convert", ["--input=/nonexistent/x.npz"], "input file '/nonexistent/x.npz' does not exist"),
])
def test_bad_ogbench_inputs_fail_clearly(tmp_path, run_binary, binary, args, message):
  result = run_binary(binary, [*args, f"--output_dir={tmp_path / 'out'}"], tmp_path)
  assert result.returncode != 0
  assert message in result.stderr, result.stderr[-2000:]
  assert not (tmp_path / "out").exists()
