"""The library runners: exact resume, finished runs, corrupt checkpoints, logs,
online fine-tuning and evaluation outputs (no gin, tiny networks)."""

import json
import os
import shutil

import numpy as np
import pytest

from pa_rl import metrics_writer
from pa_rl import plots
from pa_rl import runners
from pa_rl.agents import learner as learner_lib
from pa_rl.runners import evaluation as evaluation_lib
from pa_rl.runners import offline as offline_runner


TINY = dict(
    agent_type="offline_rl", policy_type="gaussian", policy_config={"hidden_sizes": (8,)},
    critic_type="ensemble", critic_config={"hidden_sizes": (8,), "ensemble_size": 2},
    agent_config={"batch_size": 4, "num_cql_actions": 1,
                  "action_optimization": {"num_samples": 2, "top_k": 1, "num_steps": 1}},
    env_kwargs={"max_steps": 8}, log_every=1, eval_every=2, eval_episodes=1, seed=3)


def _arrays(path):
  with np.load(path) as data:
    return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def straight_run(two_routes_data, tmp_path_factory):
  """4 uninterrupted steps, checkpoints every 2."""
  workdir = str(tmp_path_factory.mktemp("straight") / "run")
  runners.train_offline(workdir, two_routes_data, num_steps=4, checkpoint_every=2, **TINY)
  return workdir


def test_stopped_run_resumes_from_its_checkpoint_exactly(straight_run, two_routes_data,
                                                         tmp_path, monkeypatch, capsys):
  workdir = str(tmp_path / "run")
  real_step, calls = learner_lib.Learner.step, []

  def crashing_step(self):
    calls.append(1)
    if len(calls) == 4:  # After steps 1-3 ran and step 2 was checkpointed.
      raise KeyboardInterrupt
    real_step(self)

  monkeypatch.setattr(learner_lib.Learner, "step", crashing_step)
  with pytest.raises(KeyboardInterrupt):
    runners.train_offline(workdir, two_routes_data, num_steps=4, checkpoint_every=2, **TINY)
  monkeypatch.setattr(learner_lib.Learner, "step", real_step)
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == [
      "ckpt_2.extra.npz", "ckpt_2.npz"]  # The learner, and the update seconds spent.

  summary = runners.train_offline(workdir, two_routes_data, num_steps=4, checkpoint_every=2,
                                  **TINY)
  assert "Resuming from the checkpoint at step 2" in capsys.readouterr().out
  assert summary["step"] == 4 and not summary["finished_before"]
  resumed = _arrays(os.path.join(workdir, "checkpoints", "ckpt_4.npz"))
  straight = _arrays(os.path.join(straight_run, "checkpoints", "ckpt_4.npz"))
  assert resumed.keys() == straight.keys()
  for key in straight:
    np.testing.assert_array_equal(resumed[key], straight[key], err_msg=key)
  # Rows logged after the checkpoint (step 3) were dropped, then re-logged once.
  steps = [r["step"] for r in metrics_writer.read_csv(os.path.join(workdir, "train.csv"))]
  assert steps == [1, 2, 3, 4]
  assert [r["step"] for r in metrics_writer.read_csv(os.path.join(workdir, "eval.csv"))] == [
      0, 2, 4]


def test_finished_run_says_so_and_a_corrupt_checkpoint_is_skipped(
    straight_run, two_routes_data, tmp_path, capsys):
  workdir = str(tmp_path / "copy")
  shutil.copytree(straight_run, workdir)
  latest = os.path.join(workdir, "checkpoints", "ckpt_4.npz")
  before = os.path.getmtime(latest)
  summary = runners.train_offline(workdir, two_routes_data, num_steps=4, **TINY)
  assert summary == {"step": 4, "finished_before": True}
  assert "already finished" in capsys.readouterr().out
  assert os.path.getmtime(latest) == before

  with open(latest, "r+b") as f:  # A checkpoint cut short (e.g. a full disk).
    f.truncate(100)
  summary = runners.train_offline(workdir, two_routes_data, num_steps=4, checkpoint_every=2,
                                  **TINY)
  out = capsys.readouterr().out
  assert "skipping unloadable checkpoint" in out and "ckpt_4.npz" in out
  assert "Resuming from the checkpoint at step 2" in out
  assert summary["step"] == 4 and not summary["finished_before"]
  straight = _arrays(os.path.join(straight_run, "checkpoints", "ckpt_4.npz"))
  for key, value in _arrays(latest).items():
    np.testing.assert_array_equal(value, straight[key])


def test_metrics_reach_csv_and_tensorboard(straight_run):
  train = metrics_writer.read_csv(os.path.join(straight_run, "train.csv"))
  for key in ("critic/loss", "policy/loss", "critic/q_data", "action_opt/global_gain",
              "action_opt/local_gain", "train/steps_per_sec"):
    assert all(np.isfinite(r[key]) for r in train), key
  evals = metrics_writer.read_csv(os.path.join(straight_run, "eval.csv"))
  assert {"eval/return", "eval/success", "eval/length"} <= set(evals[0])
  seconds = [r["eval/train_seconds"] for r in evals]  # Update time so far, per evaluation.
  assert seconds[0] == 0.0 and 0 < seconds[1] < seconds[2]
  scalars = metrics_writer.read_tensorboard_scalars(os.path.join(straight_run, "tensorboard"))
  assert [s for s, _ in scalars["critic/loss"]] == [1, 2, 3, 4]
  assert [s for s, _ in scalars["eval/success"]] == [0, 2, 4]
  np.testing.assert_allclose([v for _, v in scalars["critic/loss"]],
                             [r["critic/loss"] for r in train], rtol=1e-6)


def test_max_seconds_stops_the_run_as_its_last_step(two_routes_data, tmp_path, monkeypatch,
                                                     capsys):
  clock = {"now": 0.0}
  real_step = learner_lib.Learner.step

  def slow_step(self):  # Every update "takes" 10 s of the clock below.
    real_step(self)
    clock["now"] += 10.0

  monkeypatch.setattr(learner_lib.Learner, "step", slow_step)
  monkeypatch.setattr(offline_runner.time, "perf_counter", lambda: clock["now"])
  workdir = str(tmp_path / "run")
  summary = runners.train_offline(workdir, two_routes_data, num_steps=100, max_seconds=25,
                                  checkpoint_every=50, **{**TINY, "eval_every": 50})
  assert "max_seconds=25 is spent at step 3 of 100" in capsys.readouterr().out
  assert summary["step"] == 3 and summary["train_seconds"] == 30.0
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == [
      "ckpt_3.extra.npz", "ckpt_3.npz"]
  evals = metrics_writer.read_csv(os.path.join(workdir, "eval.csv"))
  assert [(r["step"], r["eval/train_seconds"]) for r in evals] == [(0, 0.0), (3, 30.0)]

  # The budget counts across resumes: raised to 55 s, the run goes on from its 30 s.
  summary = runners.train_offline(workdir, two_routes_data, num_steps=100, max_seconds=55,
                                  checkpoint_every=50, **{**TINY, "eval_every": 50})
  out = capsys.readouterr().out
  assert "Resuming from the checkpoint at step 3" in out and "30.0 s of updates spent" in out
  assert "max_seconds=55 is spent at step 6 of 100" in out
  assert summary["step"] == 6 and summary["train_seconds"] == 60.0
  evals = metrics_writer.read_csv(os.path.join(workdir, "eval.csv"))
  assert [(r["step"], r["eval/train_seconds"]) for r in evals] == [
      (0, 0.0), (3, 30.0), (6, 60.0)]
  # Spent: a rerun with the same budget trains nothing.
  summary = runners.train_offline(workdir, two_routes_data, num_steps=100, max_seconds=55,
                                  checkpoint_every=50, **{**TINY, "eval_every": 50})
  assert summary == {"step": 6, "finished_before": True}
  assert "already spent its budget of max_seconds=55 (60.0 s" in capsys.readouterr().out
  # A checkpoint without the record (written before it existed) counts from zero.
  os.remove(os.path.join(workdir, "checkpoints", "ckpt_6.extra.npz"))
  summary = runners.train_offline(workdir, two_routes_data, num_steps=100, max_seconds=15,
                                  checkpoint_every=50, **{**TINY, "eval_every": 50})
  assert "no record of the update seconds spent" in capsys.readouterr().out
  assert summary["step"] == 8 and summary["train_seconds"] == 20.0
  with pytest.raises(ValueError, match="max_seconds must be None or a number > 0"):
    runners.train_offline(workdir, two_routes_data, num_steps=4, max_seconds=0, **TINY)


def test_fused_calls_end_at_every_logging_evaluation_and_checkpoint_step(
    two_routes_data, tmp_path, monkeypatch):
  real_step, sizes = learner_lib.Learner.step, []

  def counting_step(self, num_updates=1):
    sizes.append(num_updates)
    real_step(self, num_updates)

  monkeypatch.setattr(learner_lib.Learner, "step", counting_step)
  workdir = str(tmp_path / "run")
  summary = runners.train_offline(
      workdir, two_routes_data, num_steps=10, updates_per_call=3, checkpoint_every=4,
      **{**TINY, "log_every": 4, "eval_every": 4})
  # 0-3 fused, 4 alone (a boundary), 5-7 fused, 8 alone, 9-10 alone (the end).
  assert sizes == [3, 1, 3, 1, 1, 1]
  assert summary["step"] == 10
  assert [r["step"] for r in metrics_writer.read_csv(os.path.join(workdir, "train.csv"))] == [
      4, 8, 10]
  assert [r["step"] for r in metrics_writer.read_csv(os.path.join(workdir, "eval.csv"))] == [
      0, 4, 8, 10]
  assert sorted(n for n in os.listdir(os.path.join(workdir, "checkpoints"))
                if not n.endswith(".extra.npz")) == ["ckpt_10.npz", "ckpt_4.npz", "ckpt_8.npz"]
  saved = _arrays(os.path.join(workdir, "checkpoints", "ckpt_10.npz"))
  assert int(saved["meta_step"]) == 10  # The learner state counts 10 updates.
  assert list(offline_runner._calls(0, 7, 3, [])) == [(3, 3), (6, 3), (7, 1)]
  with pytest.raises(ValueError, match="updates_per_call"):
    runners.train_offline(str(tmp_path / "bad"), two_routes_data, num_steps=4,
                          updates_per_call=0, **TINY)
  with pytest.raises(ValueError, match="num_updates must be an int >= 1"):
    real_step(object.__new__(learner_lib.Learner), 0)


def test_a_workdir_of_another_run_is_refused(straight_run, two_routes_data):
  with pytest.raises(ValueError, match="policy_config"):
    runners.train_offline(straight_run, two_routes_data, num_steps=4,
                          **{**TINY, "policy_config": {"hidden_sizes": (16,)}})


@pytest.mark.parametrize("changes, message", [
    ({"agent_type": "sarsa"}, "agent_type='sarsa' cannot be trained offline; choose one of"),
    ({"agent_type": "calql", "policy_type": "diffusion", "policy_config": None},
     "agent_type='calql' trains a SAC-style Gaussian policy"),
    ({"agent_type": "imitation", "agent_config": None}, "trains no critic"),
    ({"policy_type": "difusion"}, "policy_type='difusion' is unknown; choose one of"),
    ({"agent_config": {"batch_sise": 4}}, "unknown keys \\['batch_sise'\\]"),
    ({"num_steps": -1}, "num_steps must be an int >= 0"),
])
def test_runner_errors_name_the_bad_value(two_routes_data, tmp_path, changes, message):
  kwargs = {**TINY, "num_steps": 2, **changes}
  with pytest.raises(ValueError, match=message):
    runners.train_offline(str(tmp_path / "run"), two_routes_data, **kwargs)


def test_missing_dataset_says_how_to_collect_one(tmp_path):
  with pytest.raises(FileNotFoundError, match="python -m pa_rl.binaries.collect"):
    runners.train_offline(str(tmp_path / "run"), str(tmp_path / "nothing"), **TINY)


def test_finetune_online_resumes_from_its_episode_and_replay(straight_run, tmp_path, capsys):
  workdir = str(tmp_path / "online")
  common = dict(eval_every=0, checkpoint_every=1, agent_config={"replay_capacity": 50},
                env_kwargs={"max_steps": 3}, seed=1)
  first = runners.finetune_online(workdir, straight_run, num_episodes=2, **common)
  assert "Starting online fine-tuning from" in capsys.readouterr().out
  assert first["step"] == 4 + 2 * 3  # Offline steps + UTD 1 x 3 transitions per episode.
  spec = runners.read_spec(workdir)
  assert spec.phase == "online" and spec.agent_config.policy_lr == 5e-5
  assert spec.agent_config.batch_size == 4  # Inherited from the offline run.
  second = runners.finetune_online(workdir, straight_run, num_episodes=3, **common)
  out = capsys.readouterr().out
  assert "Resuming from the checkpoint at step 10 (episode 2, 6 transitions" in out
  assert second["step"] == 13 and second["online"]["online/replay_size"] == 9
  rows = metrics_writer.read_csv(os.path.join(workdir, "online.csv"))
  assert [r["online/episode"] for r in rows] == [1, 2, 3]
  assert [r["online/env_steps"] for r in rows] == [3, 6, 9]
  third = runners.finetune_online(workdir, straight_run, num_episodes=3, **common)
  assert third["finished_before"] and "already finished" in capsys.readouterr().out


def test_finetune_online_evaluates_along_the_way(straight_run, tmp_path):
  workdir = str(tmp_path / "online")
  summary = runners.finetune_online(
      workdir, straight_run, num_episodes=3, eval_every=2, eval_episodes=2, checkpoint_every=3,
      agent_config={"replay_capacity": 50}, env_kwargs={"max_steps": 3}, seed=1)
  rows = metrics_writer.read_csv(os.path.join(workdir, "eval.csv"))
  # Before fine-tuning, at episode 2 and at the end (episode 3): 4 + 3 updates each.
  assert [r["step"] for r in rows] == [4, 4 + 2 * 3, 4 + 3 * 3]
  assert [r["online/env_steps"] for r in rows[1:]] == [6, 9]
  for row in rows:
    assert row["eval/length"] == 3 and 0.0 <= row["eval/success"] <= 1.0
    assert np.isfinite(row["eval/return"])
  assert summary["eval"]["eval/return"] == rows[-1]["eval/return"]


def test_zero_episodes_on_a_new_online_workdir_is_an_error(straight_run, tmp_path):
  workdir = tmp_path / "online"
  with pytest.raises(ValueError, match="num_episodes=0 trains nothing"):
    runners.finetune_online(str(workdir), straight_run, num_episodes=0)
  assert os.listdir(workdir) == []  # Nothing written (the lock is released and removed).


def test_finetune_online_needs_a_parl_offline_run(tmp_path, straight_run):
  with pytest.raises(ValueError, match="offline_workdir"):
    runners.finetune_online(str(tmp_path / "online"))
  with pytest.raises(FileNotFoundError, match="train it first"):
    runners.finetune_online(str(tmp_path / "online"), str(tmp_path / "none"))


def test_evaluate_writes_results_curve_and_gif(straight_run, tmp_path):
  out = str(tmp_path / "eval")
  summary = runners.evaluate(straight_run, num_episodes=2, video_episodes=1, output_dir=out)
  assert summary["step"] == 4 and summary["eval/episodes"] == 2
  with open(os.path.join(out, "eval_4.json")) as f:
    saved = json.load(f)
  assert saved["agent_type"] == "offline_rl" and len(saved["episodes"]) == 2
  assert 0.0 <= saved["eval/success"] <= 1.0
  assert os.path.getsize(os.path.join(out, "learning_curve.png")) > 10_000
  from PIL import Image  # pylint: disable=g-import-not-at-top
  with Image.open(os.path.join(out, "rollout_4.gif")) as gif:
    assert gif.n_frames > 2 and min(gif.size) >= 256  # Enlarged from 128 px.


def test_evaluate_overrides_action_optimization_and_keeps_the_run_evaluation(
    straight_run, tmp_path):
  workdir = str(tmp_path / "run")
  shutil.copytree(straight_run, workdir)
  runs = {}
  for n in (1, 16):
    overrides = {"num_samples": n, "top_k": 1, "num_steps": 0}
    runs[n] = runners.evaluate(workdir, num_episodes=1, video_episodes=0,
                               action_optimization=overrides, diagnostic_states=256)
    assert runs[n]["action_optimization"]["num_samples"] == n
    out = os.path.join(workdir, f"eval_num_samples{n}_num_steps0_top_k1", "eval_4.json")
    with open(out) as f:
      assert json.load(f)["action_optimization"]["num_samples"] == n
  # The best of 16 samples by Q scores above a single sample on the same states.
  assert (runs[16]["diagnostics/q_chosen"] > runs[1]["diagnostics/q_chosen"])
  assert not os.path.exists(os.path.join(workdir, "eval", "eval_4.json"))
  with pytest.raises(ValueError, match="unknown fields.*'samples'"):
    runners.evaluate(workdir, num_episodes=1, video_episodes=0,
                     action_optimization={"samples": 4})


def test_video_is_skipped_with_a_reason_when_mujoco_cannot_render(monkeypatch, capsys, tmp_path):
  monkeypatch.setenv("MUJOCO_GL", "no-such-backend")
  results = [{"return": 0.0, "length": 3.0, "success": float("nan")}]
  actions = [np.zeros((3, 1), np.float32)]
  assert evaluation_lib._write_video("cartpole-swingup", {}, 0, 7, results, [[]], actions,
                                     str(tmp_path), 10.0, 50) is None
  out = capsys.readouterr().out
  assert "Skipping the rollout video" in out and "cartpole-swingup" in out
  assert "no-such-backend" in out and not os.listdir(tmp_path)


def test_frames_to_keep_spreads_frames_and_keeps_every_episode_end():
  keep = evaluation_lib._frames_to_keep([99, 49], max_frames=30)
  assert [k[-1] for k in keep] == [99, 49] and all(k[0] == 0 for k in keep[:1])
  assert 28 <= sum(len(k) for k in keep) <= 32
  assert [len(k) for k in evaluation_lib._frames_to_keep([4, 2], 100)] == [5, 3]


def test_learning_curve_of_an_empty_workdir_is_none(tmp_path):
  assert plots.learning_curve(str(tmp_path), str(tmp_path / "curve.png")) is None


def test_metrics_writer_widens_its_header_and_drops_rows_after_resume(tmp_path):
  writer = metrics_writer.MetricsWriter(str(tmp_path), tensorboard=False)
  writer.write("train", 1, {"a": 1.0})
  writer.write("train", 2, {"a": 2.0, "b": 3.0})
  writer.write("train", 3, {"a": 4.0})
  rows = metrics_writer.read_csv(str(tmp_path / "train.csv"))
  assert [r["step"] for r in rows] == [1, 2, 3] and rows[1]["b"] == 3.0
  assert np.isnan(rows[0]["b"])
  metrics_writer.MetricsWriter(str(tmp_path), resume_step=2, tensorboard=False)
  assert [r["step"] for r in metrics_writer.read_csv(str(tmp_path / "train.csv"))] == [1, 2]
