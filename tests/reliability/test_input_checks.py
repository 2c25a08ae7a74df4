"""Bad inputs that used to crash or blame the wrong thing now fail with
errors that name the problem: imported files, dataset metadata, agent
arguments and the actions a policy sends to its environment."""

import json
import os
import subprocess
import sys
import types as pytypes

import jax
import numpy as np
import pytest
import rlds

import pa_rl as ljx
from pa_rl import environments
from pa_rl import runners
from pa_rl import types
from pa_rl.agents import evaluation as agent_evaluation
from pa_rl.datasets import collection
from pa_rl.datasets import importers
from pa_rl.datasets import rlds_io
from pa_rl.runners import rollouts
from pa_rl.testing import fakes
from pa_rl.testing import tiny

ROWS = 10
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _arrays(obs_dim=4, action_dim=2, seed=0):
  """An OGBench-layout dict (two 5-row episodes, every row a transition) that
  fits two_routes: 4 observation values, 2-D actions in [-1, 1]."""
  rng = np.random.default_rng(seed)
  terminals = np.zeros(ROWS, bool)
  terminals[[4, ROWS - 1]] = True
  return {
      "observations": rng.uniform(-1, 1, (ROWS, obs_dim)).astype(np.float32),
      "next_observations": rng.uniform(-1, 1, (ROWS, obs_dim)).astype(np.float32),
      "actions": rng.uniform(-0.9, 0.9, (ROWS, action_dim)).astype(np.float32),
      "rewards": rng.normal(size=ROWS).astype(np.float32),
      "terminals": terminals,
  }


def _convert(tmp_path, arrays, env=None, layout="auto"):
  np.savez(tmp_path / "data.npz", **arrays)
  return importers.convert(str(tmp_path / "data.npz"), str(tmp_path / "out"), env=env,
                           layout=layout)


# 1a. Zero action dimensions.

def test_zero_action_dimensions_are_refused_by_convert(tmp_path):
  arrays = _arrays()
  arrays["actions"] = np.zeros((ROWS, 0), np.float32)
  with pytest.raises(importers.DatasetError, match=r"'actions' has shape \(10, 0\)"):
    _convert(tmp_path, arrays)
  assert not os.path.exists(tmp_path / "out")


def test_zero_action_dimensions_do_not_crash_the_convert_binary(tmp_path):
  """The binary used to die of SIGFPE inside TFDS's write_metadata."""
  arrays = _arrays()
  arrays["actions"] = np.zeros((ROWS, 0), np.float32)
  np.savez(tmp_path / "data.npz", **arrays)
  done = subprocess.run(
      [sys.executable, "-m", "pa_rl.binaries.convert", f"--input={tmp_path / 'data.npz'}",
       f"--output_dir={tmp_path / 'out'}"],
      cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
  assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
  assert "'actions' has shape (10, 0)" in done.stderr
  assert not os.path.exists(tmp_path / "out")


def test_writer_refuses_zero_action_dimensions(tmp_path):
  with pytest.raises(rlds_io.DatasetError, match="action_dim must be >= 1; got 0"):
    rlds_io.RLDSWriter(str(tmp_path / "ds"), fakes.DEFAULT_SPEC, 0, [], [])
  assert os.listdir(tmp_path) == []  # Refused before any temporary directory.


def test_features_refuse_a_zero_size_observation():
  # `types.ObsSpec` refuses zero sizes itself; `_features` also guards specs
  # that did not come through it (TFDS would crash the interpreter later).
  spec = {"state": pytypes.SimpleNamespace(shape=(3, 0), type=types.LOW_DIM)}
  with pytest.raises(rlds_io.DatasetError,
                     match=r"observation spec \{'state': \(3, 0\)\} has a zero-size dimension"):
    rlds_io._features(spec, 2)  # pylint: disable=protected-access


# 1b. terminals / timeouts that are not flags.

@pytest.mark.parametrize("key, bad, shown", [
    ("terminals", np.nan, "nan"),
    ("terminals", 7.5, "7.5"),
    ("terminals", -2, "-2"),
    ("timeouts", 0.5, "0.5"),
    ("timeouts", np.nan, "nan"),
])
def test_terminals_and_timeouts_must_be_zero_or_one(tmp_path, key, bad, shown):
  arrays = _arrays()
  arrays["timeouts"] = np.zeros(ROWS, np.float32)  # The D4RL layout reads both.
  dtype = np.int64 if isinstance(bad, int) else np.float64
  arrays[key] = arrays[key].astype(dtype)
  arrays[key][3] = bad
  with pytest.raises(importers.DatasetError,
                     match=rf"'{key}' must hold only 0/1 .*row 3 holds {shown}"):
    _convert(tmp_path, arrays)
  assert not os.path.exists(tmp_path / "out")


def test_terminals_of_another_dtype_are_refused(tmp_path):
  arrays = _arrays()
  arrays["terminals"] = np.where(arrays["terminals"], "yes", "no")
  with pytest.raises(importers.DatasetError, match=r"'terminals' must hold booleans or "
                                                    r"0/1; got dtype <U3"):
    _convert(tmp_path, arrays)


@pytest.mark.parametrize("dtype", [bool, np.int32, np.uint8, np.float32, np.float64])
def test_terminals_as_bool_int_or_exact_float_are_read_alike(tmp_path, dtype):
  arrays = _arrays()
  arrays["terminals"] = arrays["terminals"].astype(dtype)[:, None]  # (N, 1) is fine too.
  info = _convert(tmp_path, arrays)
  assert info["episodes"] == 2 and info["transitions"] == ROWS


# 1c. Observations of another shape than the environment's.

def test_observations_of_another_shape_than_the_env_are_refused(tmp_path):
  with pytest.raises(importers.DatasetError,
                     match=r"observations have shape \(7,\) per row but env='two_routes' "
                           r"observes \{'position': \(2,\), 'goal': \(2,\)\} \(4 values"):
    _convert(tmp_path, _arrays(obs_dim=7), env="two_routes")
  assert not os.path.exists(tmp_path / "out")


def test_image_observations_for_a_vector_env_are_refused(tmp_path):
  arrays = _arrays()
  rng = np.random.default_rng(0)
  for key in ("observations", "next_observations"):
    arrays[key] = rng.integers(0, 256, (ROWS, 8, 8, 3), dtype=np.uint8)
  with pytest.raises(importers.DatasetError,
                     match=r"images of shape \(8, 8, 3\) per row but env='two_routes'"):
    _convert(tmp_path, arrays, env="two_routes")


def test_observations_of_the_env_shape_convert(tmp_path):
  info = _convert(tmp_path, _arrays(obs_dim=4), env="two_routes")
  _, meta = rlds_io.load_episodes(info["path"])
  assert meta["env_name"] == "two_routes"
  assert meta["observation_spec"] == {"state": {"shape": [4], "type": "low_dim"}}


# 1d. Actions outside the environment's bounds.

def test_actions_outside_the_env_bounds_are_refused_not_clipped(tmp_path):
  arrays = _arrays()
  arrays["actions"][[2, 6], 1] = [1.5, 1.2]
  with pytest.raises(importers.DatasetError) as info:
    _convert(tmp_path, arrays, env="two_routes")
  message = str(info.value)
  for part in ("dimension 1 reaches 1.5", "bounds are [-1, 1]",
               "2 of 10 transitions (20.0%)", "is not data of that environment"):
    assert part in message, message
  assert not os.path.exists(tmp_path / "out")


def test_actions_within_the_rounding_tolerance_are_kept_as_they_are(tmp_path):
  arrays = _arrays()
  arrays["actions"][2, 0] = 1.0005  # 1e-3 of the range [-1, 1] is 0.002.
  arrays["actions"][3, 1] = -1.0015
  info = _convert(tmp_path, arrays, env="two_routes")
  episodes, _ = rlds_io.load_episodes(info["path"])
  taken = np.concatenate([e[rlds.STEPS][rlds.ACTION][:-1] for e in episodes])
  np.testing.assert_array_equal(taken, arrays["actions"])  # Not clipped.
  arrays["actions"][2, 0] = 1.003
  with pytest.raises(importers.DatasetError, match="dimension 0 reaches 1.003"):
    importers.convert(_save(tmp_path, arrays), str(tmp_path / "out2"), env="two_routes")


def _save(tmp_path, arrays):
  np.savez(tmp_path / "again.npz", **arrays)
  return str(tmp_path / "again.npz")


# 1e. Rewards and masks of the wrong shape.

@pytest.mark.parametrize("key", ["rewards", "masks"])
def test_rewards_and_masks_of_the_wrong_shape_name_the_expected_shape(tmp_path, key):
  arrays = _arrays()
  arrays[key] = np.ones((ROWS, 3), np.float32)
  with pytest.raises(importers.DatasetError,
                     match=rf"^'{key}' has shape \(10, 3\); expected \(10,\) or \(10, 1\)$"):
    _convert(tmp_path, arrays)


# 1f. Files that are not of their extension's kind.

def test_text_file_named_npz_says_it_is_not_a_zip(tmp_path):
  (tmp_path / "x.npz").write_text("hello world, not numpy")
  with pytest.raises(importers.DatasetError,
                     match=r"x.npz' is not a .npz file \(a .npz is a zip archive; this file "
                           r"starts with b'hello world, not'\)"):
    importers.read_arrays(str(tmp_path / "x.npz"))
  np.save(tmp_path / "one.npy", np.zeros(3))
  os.rename(tmp_path / "one.npy", tmp_path / "one.npz")
  with pytest.raises(importers.DatasetError, match="it is a .npy file of one array"):
    importers.read_arrays(str(tmp_path / "one.npz"))
  (tmp_path / "empty.npz").write_bytes(b"")
  with pytest.raises(importers.DatasetError, match="this file is empty"):
    importers.read_arrays(str(tmp_path / "empty.npz"))


def test_text_file_named_hdf5_says_it_is_not_hdf5(tmp_path):
  (tmp_path / "x.hdf5").write_text("hello")
  with pytest.raises(importers.DatasetError, match=r"x.hdf5' is not an HDF5 file .*this file "
                                                    r"starts with b'hello'"):
    importers.read_arrays(str(tmp_path / "x.hdf5"))


def test_real_npz_and_hdf5_files_still_read(tmp_path):
  h5py = pytest.importorskip("h5py")
  np.savez(tmp_path / "a.npz", x=np.arange(3))
  with h5py.File(tmp_path / "a.hdf5", "w", userblock_size=512) as f:  # Signature at 512.
    f["infos/qpos"] = np.arange(4)
  assert importers.read_arrays(str(tmp_path / "a.npz"))["x"].tolist() == [0, 1, 2]
  assert importers.read_arrays(str(tmp_path / "a.hdf5"))["infos/qpos"].tolist() == [0, 1, 2, 3]


# 2. Dataset metadata that contradicts itself or the records.

@pytest.fixture
def small_dataset(tmp_path):
  path = str(tmp_path / "ds")
  fakes.write_dataset(path, (3, 2))
  return path


def _edit_json(path, name, edit):
  with open(os.path.join(path, name)) as f:
    value = json.load(f)
  edit(value)
  with open(os.path.join(path, name), "w") as f:
    json.dump(value, f)


def test_zero_width_action_bounds_are_refused(small_dataset):
  _edit_json(small_dataset, "pa_rl_metadata.json",
             lambda m: m.update(action_low=[-1.0, 1.0], action_high=[1.0, 1.0]))
  with pytest.raises(rlds_io.DatasetError,
                     match=r"action_low must be < action_high in every dimension; "
                           r"dimension\(s\) \[1\] have action_low >= action_high"):
    rlds_io.read_metadata(small_dataset)
  with pytest.raises(rlds_io.DatasetError, match=r"dimension\(s\) \[1\]"):
    rlds_io.load_episodes(small_dataset)


def test_features_json_with_a_wrong_shape_names_the_feature(small_dataset):
  def lie(features):
    steps = features["featuresDict"]["features"]["steps"]["sequence"]["feature"]
    state = steps["featuresDict"]["features"]["observation"]["featuresDict"]["features"][
        "state"]
    assert state["tensor"]["shape"]["dimensions"] == ["3"]
    state["tensor"]["shape"]["dimensions"] = ["4"]
  _edit_json(small_dataset, "features.json", lie)
  with pytest.raises(rlds_io.DatasetError,
                     match=r"features.json declares shapes the records do not hold: "
                           r"'steps/observation/state' declares shape \(4,\) per step "
                           r"\(4 values\) but the records hold 3 values per step"):
    rlds_io.load_episodes(small_dataset)


# 3. create_agent's seed.

@pytest.mark.parametrize("seed", ["x", 1.5, True, None, 2**64])
def test_create_agent_names_a_bad_seed(seed):
  meta = types.ShapeMeta(observations={"state": types.ObsSpec((3,))}, action_dim=2)
  policy = ljx.create_policy_model("gaussian", 0, meta, tiny.POLICY_CONFIGS["gaussian"])
  with pytest.raises(TypeError, match=r"seed must be a 64-bit int; got "):
    ljx.create_agent("imitation", policy, None, seed=seed)


# 4. Non-finite actions in evaluation.

def _nan_agent(env):
  meta = collection.shape_meta_for(env)
  policy = ljx.create_policy_model("gaussian", 0, meta, {"hidden_sizes": (8,)})
  agent = ljx.create_agent("imitation", policy, None, seed=0)
  nan_params = jax.tree_util.tree_map(lambda p: p * np.nan, agent.state.policy_params)
  return agent.replace(state=agent.state._replace(policy_params=nan_params))


def test_nan_policy_action_is_refused_before_the_env_steps(monkeypatch):
  env = environments.make_environment("two_routes", seed=0, max_steps=5)
  stepped = []
  real_step = env.step
  monkeypatch.setattr(env, "step", lambda action: stepped.append(action) or real_step(action))
  actor = agent_evaluation.make_actor(_nan_agent(env))
  with pytest.raises(rollouts.NonFiniteActionError,
                     match=r"policy produced a non-finite action \[nan, nan\] at episode 0 "
                           r"step 0"):
    rollouts.evaluate_episodes(env, actor, 2)
  assert not stepped


def test_evaluating_a_nan_checkpoint_blames_its_parameters(two_routes_data, tmp_path):
  workdir = str(tmp_path / "run")
  runners.train_offline(
      workdir, two_routes_data, num_steps=2, checkpoint_every=2, agent_type="imitation",
      policy_type="gaussian", policy_config={"hidden_sizes": (8,)},
      agent_config={"batch_size": 4}, env_kwargs={"max_steps": 4}, log_every=1,
      eval_every=0, seed=0)
  path = os.path.join(workdir, "checkpoints", "ckpt_2.npz")
  with np.load(path) as data:
    saved = {k: data[k] for k in data.files}
  poisoned = 0
  for key, value in saved.items():
    if np.issubdtype(value.dtype, np.floating) and value.size > 1:
      saved[key] = np.full_like(value, np.nan)
      poisoned += 1
  assert poisoned
  np.savez(path, **saved)
  with pytest.raises(ValueError, match=r"non-finite action .* at episode 0 step 0.*checkpoint "
                                       r"at step 2 .* may hold NaN parameters"):
    runners.evaluate(workdir, num_episodes=1, video_episodes=0, diagnostic_states=0)
