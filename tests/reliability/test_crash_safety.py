"""Training survives SIGKILL at random moments and non-finite updates.

A training process is killed (SIGKILL, no clean-up) at random points; after
each kill the workdir is loadable, and re-running resumes from the last
complete checkpoint. The final parameters equal those of an uninterrupted run
bit for bit (CPU).
"""

import os
import re
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import metrics_writer
from pa_rl import runners
from pa_rl.agents import learner as learner_lib
from pa_rl.agents import update as update_lib
from pa_rl.runners import checkpoints

# Tiny networks; many short steps with frequent checkpoints, so a kill lands
# anywhere: in an update, a metrics write or a checkpoint write.
SETTINGS = dict(
    agent_type="offline_rl", policy_type="gaussian", policy_config={"hidden_sizes": (8,)},
    critic_type="ensemble", critic_config={"hidden_sizes": (8,), "ensemble_size": 2},
    agent_config={"batch_size": 4, "num_cql_actions": 1,
                  "action_optimization": {"num_samples": 2, "top_k": 1, "num_steps": 1}},
    env_kwargs={"max_steps": 8}, log_every=1, eval_every=0, seed=3, num_steps=150,
    checkpoint_every=3, keep_checkpoints=2)

_SCRIPT = """
import ast, sys
from pa_rl import runners
runners.train_offline(sys.argv[1], sys.argv[2], **ast.literal_eval(sys.argv[3]))
print("TRAINING_DONE")
"""


def _start(workdir, data, cache):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2",
         "JAX_COMPILATION_CACHE_DIR": cache, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
  return subprocess.Popen([sys.executable, "-c", _SCRIPT, workdir, data, repr(SETTINGS)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _leaves(path):
  with np.load(path) as data:
    return {k: data[k] for k in data.files}


def _newest_checkpoint(workdir):
  steps = checkpoints.Checkpointer(os.path.join(workdir, "checkpoints")).steps()
  return steps[-1] if steps else None


@pytest.fixture(name="straight", scope="module")
def straight_fixture(two_routes_data, tmp_path_factory):
  """The workdir of an uninterrupted run."""
  path = str(tmp_path_factory.mktemp("crash") / "straight")
  runners.train_offline(path, two_routes_data, **SETTINGS)
  return path


def _assert_finished_like(workdir, straight):
  """The final checkpoint equals the uninterrupted run's bit for bit, and the
  checkpoint folder holds the newest two checkpoints with their records and
  nothing else (no temporary file a kill left, no lock)."""
  final = f"ckpt_{SETTINGS['num_steps']}.npz"
  killed = _leaves(os.path.join(workdir, "checkpoints", final))
  reference = _leaves(os.path.join(straight, "checkpoints", final))
  assert killed.keys() == reference.keys()
  for key in reference:
    np.testing.assert_array_equal(killed[key], reference[key], err_msg=key)
  names = sorted(os.listdir(os.path.join(workdir, "checkpoints")))
  main = [n for n in names if re.fullmatch(r"ckpt_\d+\.npz", n)]
  assert len(main) == 2, names
  assert sorted(names) == sorted(main + [n.replace(".npz", ".extra.npz") for n in main]), names
  assert not [n for n in os.listdir(workdir) if ".tmp-" in n or n == ".lock"]


def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(
    two_routes_data, straight, tmp_path):
  cache = str(tmp_path / "jax_cache")

  workdir = str(tmp_path / "killed")
  rng = np.random.default_rng(0)
  kills, resumed_from = 0, []
  for _ in range(4):
    before = _newest_checkpoint(workdir)
    process = _start(workdir, two_routes_data, cache)
    # Wait until this process is training (a new checkpoint appears), then
    # kill it after a random delay.
    deadline = time.time() + 240
    while (_newest_checkpoint(workdir) == before and process.poll() is None
           and time.time() < deadline):
      time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.6))
    if process.poll() is None:
      process.send_signal(signal.SIGKILL)
      kills += 1
    _, err = process.communicate(timeout=120)
    if process.returncode == 0:
      break
    assert process.returncode == -signal.SIGKILL, err[-3000:]
    # The killed workdir is loadable: every checkpoint file under its final
    # name is complete, and the metrics CSV parses.
    ckpt_dir = os.path.join(workdir, "checkpoints")
    for name in os.listdir(ckpt_dir):
      if name.startswith("ckpt_"):
        assert _leaves(os.path.join(ckpt_dir, name)), name
    metrics_writer.read_csv(os.path.join(workdir, "train.csv"))
    resumed_from.append(_newest_checkpoint(workdir))
  assert kills >= 3, f"only {kills} kills landed before the run finished"
  assert resumed_from == sorted(resumed_from) and resumed_from[-1] > 0

  if _newest_checkpoint(workdir) != SETTINGS["num_steps"]:
    process = _start(workdir, two_routes_data, cache)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    assert "Resuming from the checkpoint at step" in out
  _assert_finished_like(workdir, straight)


# Kills the training process at the fsync of one file's temporary copy:
# written in full, not yet renamed into place.
_KILL_IN_WRITE = """
import ast, os, signal, sys
from pa_rl import runners
real_fsync, target = os.fsync, sys.argv[4]
def fsync(fd):
  if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(target):
    os.kill(os.getpid(), signal.SIGKILL)
  real_fsync(fd)
os.fsync = fsync
runners.train_offline(sys.argv[1], sys.argv[2], **ast.literal_eval(sys.argv[3]))
"""


@pytest.mark.parametrize("target", [".ckpt_9.extra.npz.tmp-", ".ckpt_9.npz.tmp-",
                                    ".experiment.json.tmp-"])
def test_sigkill_inside_a_file_write_then_resume_leaves_no_temporary(two_routes_data, straight,
                                                                      tmp_path, target):
  workdir = str(tmp_path / "killed")
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
  killed = subprocess.run([sys.executable, "-c", _KILL_IN_WRITE, workdir, two_routes_data,
                           repr(SETTINGS), target], env=env, capture_output=True, text=True,
                          timeout=300)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
  left = [n for d in (workdir, os.path.join(workdir, "checkpoints")) if os.path.isdir(d)
          for n in os.listdir(d) if n.startswith(target)]
  assert len(left) == 1, left  # The kill landed inside that write.
  assert os.path.exists(os.path.join(workdir, ".lock"))  # Left by the dead process.
  resumed = _start(workdir, two_routes_data, str(tmp_path / "jax_cache"))
  out, err = resumed.communicate(timeout=300)
  assert resumed.returncode == 0, err[-3000:]
  assert "which ended without releasing it" in out, out
  _assert_finished_like(workdir, straight)


def _poison_batch_at(step_to_poison):
  """Wraps make_update_step so the batch of one update holds NaN rewards."""
  real = update_lib.make_update_step

  def make(*args, **kwargs):
    update = real(*args, **kwargs)

    def poisoned(state, batch):
      bad = state.step == step_to_poison
      batch = batch._replace(reward=jnp.where(bad, jnp.nan, batch.reward))
      return update(state, batch)
    return poisoned
  return make


def test_nonfinite_update_stops_the_run_naming_step_and_loss_and_keeps_the_last_checkpoint(
    two_routes_data, tmp_path, monkeypatch):
  monkeypatch.setattr(update_lib, "make_update_step", _poison_batch_at(4))
  workdir = str(tmp_path / "run")
  settings = {**SETTINGS, "num_steps": 9}
  with pytest.raises(learner_lib.NonFiniteError) as error:
    runners.train_offline(workdir, two_routes_data, **settings)
  message = str(error.value)
  assert "update 5" in message and "critic/loss" in message and "nan" in message, message
  # The checkpoint before the bad update is kept and loads; none after it.
  assert checkpoints.Checkpointer(os.path.join(workdir, "checkpoints")).steps() == [3]


def test_nonfinite_fused_update_stops_the_run_naming_its_call(two_routes_data, tmp_path,
                                                               monkeypatch):
  monkeypatch.setattr(update_lib, "make_update_step", _poison_batch_at(4))
  workdir = str(tmp_path / "run")
  settings = {**SETTINGS, "num_steps": 9, "log_every": 3, "updates_per_call": 3}
  with pytest.raises(learner_lib.NonFiniteError) as error:
    runners.train_offline(workdir, two_routes_data, **settings)
  message = str(error.value)  # Update 5 is in the call of updates 4-6.
  assert "an update of the 3 fused ones up to update 6" in message, message
  assert "critic/loss" in message and "nan" in message, message
  assert checkpoints.Checkpointer(os.path.join(workdir, "checkpoints")).steps() == [3]


def test_nonfinite_update_is_skipped_when_asked(two_routes_data, tmp_path, monkeypatch):
  monkeypatch.setattr(update_lib, "make_update_step", _poison_batch_at(4))
  workdir = str(tmp_path / "run")
  settings = {**SETTINGS, "num_steps": 9,
              "agent_config": {**SETTINGS["agent_config"], "stop_on_nonfinite": False}}
  summary = runners.train_offline(workdir, two_routes_data, **settings)
  assert summary["step"] == 9
  rows = metrics_writer.read_csv(os.path.join(workdir, "train.csv"))
  flags = {int(r["step"]): r["train/nonfinite"] for r in rows}
  assert flags[5] == 1.0 and sum(flags.values()) == 1.0, flags
  final = _leaves(os.path.join(workdir, "checkpoints", "ckpt_9.npz"))
  assert all(np.all(np.isfinite(v)) for v in final.values() if v.dtype.kind == "f")


def test_an_update_that_overflows_the_parameters_is_skipped(two_routes_data):
  """Finite loss and gradients, but a step so large the parameters overflow:
  the update is not applied and is flagged."""
  from pa_rl.datasets import offline  # pylint: disable=g-import-not-at-top
  import pa_rl as ljx  # pylint: disable=g-import-not-at-top
  dataset = offline.OfflineDataset.load_from_path(two_routes_data, normalize=True, seed=0)
  policy = ljx.create_policy_model("gaussian", 0, dataset.shape_meta, {"hidden_sizes": (8,)})
  agent = ljx.create_agent("imitation", policy, None, 1,
                           {"batch_size": 4, "policy_lr": 1e39, "grad_clip": 0.0,
                            "stop_on_nonfinite": False})
  _, batch = dataset.sample(4)
  info = agent.update(batch)
  assert np.isfinite(info["policy/loss"]) and info["train/nonfinite"] == 1.0
  before = jax.tree.leaves(agent.state.policy_params)
  after = jax.tree.leaves(info["agent"].state.policy_params)
  for a, b in zip(before, after):
    np.testing.assert_array_equal(a, b)
