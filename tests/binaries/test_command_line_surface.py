"""Flags of `collect` and `convert` that change what is written, and stray
arguments, through the binaries themselves."""

import numpy as np
import pytest

from pa_rl.datasets import rlds_io


def test_collect_mixture_task_id_seed_and_overwrite(tmp_path, run_binary):
  def collect(out, *flags):
    result = run_binary("collect", ["--env=two_routes", "--policy=mixed", "--num_episodes=3",
                                    f"--output_dir={out}", *flags], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    return rlds_io.load_episodes(str(out))

  experts, meta = collect(tmp_path / "experts", "--mixture=1,0,0", "--task_id=4", "--seed=7")
  assert [bool(e["episode_metadata"]["success"]) for e in experts] == [True] * 3
  assert [int(e["episode_metadata"]["task_id"]) for e in experts] == [4] * 3
  assert meta["seed"] == 7 and meta["policy"] == "mixed"
  randoms, _ = collect(tmp_path / "randoms", "--mixture=0,0,1", "--seed=7")
  assert not any(bool(e["episode_metadata"]["success"]) for e in randoms)
  # The seed decides the episodes: the same seed repeats them, another does not.
  again, _ = collect(tmp_path / "again", "--mixture=1,0,0", "--task_id=4", "--seed=7")
  other, _ = collect(tmp_path / "other", "--mixture=1,0,0", "--task_id=4", "--seed=8")
  first = lambda eps: eps[0]["steps"]["observation"]["position"]
  np.testing.assert_array_equal(first(again), first(experts))
  assert first(other).shape != first(experts).shape or not np.array_equal(first(other),
                                                                           first(experts))
  # --overwrite replaces the dataset; without it the folder is refused.
  refused = run_binary("collect", ["--env=two_routes", "--num_episodes=1",
                                   f"--output_dir={tmp_path / 'experts'}"], tmp_path)
  assert refused.returncode == 1 and "already exists" in refused.stderr
  replaced, _ = collect(tmp_path / "experts", "--mixture=0,0,1", "--overwrite")
  assert not any(bool(e["episode_metadata"]["success"]) for e in replaced)


def _npz(path, with_timeouts):
  rng = np.random.default_rng(0)
  arrays = dict(observations=rng.normal(size=(10, 3)).astype(np.float32),
                actions=rng.uniform(-1, 1, (10, 2)).astype(np.float32),
                rewards=np.ones(10, np.float32),
                terminals=np.array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0], np.float32))
  if with_timeouts:
    arrays["timeouts"] = np.array([0] * 9 + [1], np.float32)
  np.savez(path, **arrays)
  return str(path)


def test_convert_layout_flag_decides_what_terminals_mean(tmp_path, run_binary):
  source = _npz(tmp_path / "d4rl.npz", with_timeouts=True)
  d4rl = run_binary("convert", [f"--input={source}", f"--output_dir={tmp_path / 'a'}"],
                    tmp_path)  # auto: d4rl, from 'timeouts'
  assert d4rl.returncode == 0, d4rl.stderr[-2000:]
  episodes, meta = rlds_io.load_episodes(str(tmp_path / "a"))
  assert meta["layout"] == "d4rl"
  # D4RL: row 3 is a true termination (discount 0, is_terminal), row 9 a time limit.
  assert [len(e["steps"]["reward"]) for e in episodes] == [5, 6]
  assert bool(episodes[0]["steps"]["is_terminal"][-1]) and episodes[0]["steps"]["discount"][3] == 0
  assert not bool(episodes[1]["steps"]["is_terminal"][-1])
  ogbench = run_binary("convert", [f"--input={source}", f"--output_dir={tmp_path / 'b'}",
                                   "--layout=ogbench"], tmp_path)
  assert ogbench.returncode == 0, ogbench.stderr[-2000:]
  episodes, meta = rlds_io.load_episodes(str(tmp_path / "b"))
  # OGBench: terminals mark each episode's last row, which holds only the final observation.
  assert meta["layout"] == "ogbench"
  assert [len(e["steps"]["reward"]) for e in episodes] == [4, 6]
  assert not any(bool(e["steps"]["is_terminal"][-1]) for e in episodes)
  missing = run_binary("convert", [f"--input={_npz(tmp_path / 'og.npz', False)}",
                                   f"--output_dir={tmp_path / 'c'}", "--layout=d4rl"], tmp_path)
  assert missing.returncode == 1 and "needs the key 'timeouts'" in missing.stderr
  assert "Traceback" not in missing.stderr


@pytest.mark.parametrize("binary, flags", [
    ("collect", ["--output_dir=/tmp/never_written"]),
    ("convert", ["--input=x.npz", "--output_dir=/tmp/never_written"]),
    ("train_offline", ["--workdir=/tmp/never_written"]),
])
def test_stray_positional_arguments_are_refused(tmp_path, run_binary, binary, flags):
  result = run_binary(binary, [*flags, "stray"], tmp_path)
  assert result.returncode == 1 and "unexpected arguments ['stray']" in result.stderr
