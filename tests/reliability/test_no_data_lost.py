"""Nothing a user has is lost: ``--overwrite``, concurrent runs, refused
resumes, interrupted writers, and errors that say what went wrong.

Each test is a case in which data was once lost, corrupted or silently
misdescribed, or an error named the wrong thing.
"""

import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from pa_rl import file_utils
from pa_rl import runners
from pa_rl.binaries import running
from pa_rl.datasets import collection
from pa_rl.datasets import importers
from pa_rl.datasets import rlds_io
from pa_rl.testing import fakes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = dict(
    agent_type="imitation", policy_type="gaussian", policy_config={"hidden_sizes": (8,)},
    agent_config={"batch_size": 4}, eval_every=0, log_every=1, checkpoint_every=2,
    num_steps=4, seed=0)
GIN_TINY = ["train_offline.agent_type = 'imitation'", "train_offline.policy_type = 'gaussian'",
            "train_offline.policy_config = {'hidden_sizes': (8,)}",
            "train_offline.agent_config = {'batch_size': 4}", "train_offline.eval_every = 0",
            "train_offline.log_every = 1", "train_offline.checkpoint_every = 2"]


_ENV = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}


def _run(module, *args):
  return subprocess.run([sys.executable, "-m", f"pa_rl.binaries.{module}", *args],
                        cwd=ROOT, env=_ENV, capture_output=True, text=True, timeout=600)


def _npz(path, rows=20, action_dim=2):
  rng = np.random.default_rng(0)
  terminals = np.zeros(rows, np.float32)
  terminals[rows // 2 - 1] = terminals[-1] = 1
  np.savez(path, observations=rng.normal(size=(rows, 3)).astype(np.float32),
           actions=rng.uniform(-1, 1, size=(rows, action_dim)).astype(np.float32),
           terminals=terminals, rewards=rng.normal(size=rows).astype(np.float32))
  return str(path)


def _tree(path):
  """Every file under ``path`` with its bytes, and the folder's mode."""
  out = {".mode": stat.S_IMODE(os.stat(path).st_mode)}
  for root, dirs, files in os.walk(path):
    for name in dirs:
      out[os.path.relpath(os.path.join(root, name), path) + "/"] = None
    for name in files:
      with open(os.path.join(root, name), "rb") as f:
        out[os.path.relpath(os.path.join(root, name), path)] = f.read()
  return out


# --overwrite ----------------------------------------------------------------

def test_overwrite_refuses_a_folder_that_is_not_a_dataset_and_leaves_it_as_it_was(tmp_path):
  target = tmp_path / "notes_folder"
  (target / "sub").mkdir(parents=True)
  (target / "notes.txt").write_text("my notes")
  os.chmod(target, 0o755)
  before = _tree(target)
  with pytest.raises(FileExistsError, match="not a dataset written by this library") as e:
    importers.convert(_npz(tmp_path / "good.npz"), str(target), overwrite=True)
  assert "notes.txt" in str(e.value) and "sub" in str(e.value)
  assert _tree(target) == before


def test_overwrite_never_removes_the_input_even_inside_a_dataset(tmp_path):
  folder = tmp_path / "DIR"
  folder.mkdir()
  source = _npz(folder / "mydata.npz")
  (folder / "NOTES.md").write_text("notes")
  before = _tree(folder)
  with pytest.raises(FileExistsError, match="mydata.npz"):
    importers.convert(source, str(folder), overwrite=True)
  assert _tree(folder) == before
  # Even a dataset this library wrote is kept when the input lies inside it.
  dataset = tmp_path / "ds"
  importers.convert(source, str(dataset))
  inner = _npz(dataset / "copy.npz")
  with pytest.raises(FileExistsError, match="which this run reads"):
    importers.convert(inner, str(dataset), overwrite=True)
  assert os.path.exists(inner)


def test_overwrite_replaces_a_dataset_of_ours_keeping_the_mode_but_refuses_foreign_files(
    tmp_path):
  source = _npz(tmp_path / "a.npz")
  dataset = str(tmp_path / "ds")
  importers.convert(source, dataset)
  mode = stat.S_IMODE(os.stat(dataset).st_mode)
  assert mode == 0o777 & ~_umask(), oct(mode)  # Not mkdtemp's 0o700.
  importers.convert(_npz(tmp_path / "b.npz", rows=30), dataset, overwrite=True)
  assert rlds_io.read_metadata(dataset)["num_steps"] == 30  # The new file's rows, not 20.
  assert stat.S_IMODE(os.stat(dataset).st_mode) == mode
  with open(os.path.join(dataset, "analysis.txt"), "w") as f:
    f.write("mine")
  before = _tree(dataset)
  with pytest.raises(FileExistsError, match="analysis.txt.*did not write"):
    importers.convert(source, dataset, overwrite=True)
  assert _tree(dataset) == before
  assert sorted(os.listdir(tmp_path)) == ["a.npz", "b.npz", "ds"]  # No lock, no temporaries.


def test_collect_overwrite_goes_through_the_same_checks(tmp_path):
  target = tmp_path / "folder"
  target.mkdir()
  (target / "keep.txt").write_text("x")
  with pytest.raises(FileExistsError, match="keep.txt"):
    collection.collect("two_routes", str(target), policy="random", num_episodes=1,
                       overwrite=True)
  assert os.listdir(target) == ["keep.txt"]
  collection.collect("two_routes", str(tmp_path / "data"), policy="random", num_episodes=1)
  stats = collection.collect("two_routes", str(tmp_path / "data"), policy="random",
                             num_episodes=2, overwrite=True)
  assert rlds_io.read_metadata(stats["path"])["num_episodes"] == 2


def test_convert_binary_overwrite_refusal_is_one_line_and_exit_1(tmp_path):
  folder = tmp_path / "DIR"
  folder.mkdir()
  source = _npz(folder / "mydata.npz")
  result = _run("convert", f"--input={source}", f"--output_dir={folder}", "--overwrite")
  assert result.returncode == 1, result.stderr[-2000:]
  assert "Traceback" not in result.stderr
  assert "Error: refusing to overwrite output_dir" in result.stderr
  assert "mydata.npz" in result.stderr
  assert sorted(os.listdir(folder)) == ["mydata.npz"]


def test_a_writer_removes_only_its_own_stale_temporaries(tmp_path):
  source = _npz(tmp_path / "a.npz")
  stale = tmp_path / ".ds.tmp-0badcafe"  # A writer of "ds" killed mid-write.
  stale.mkdir()
  (stale / "records.tmp").write_bytes(b"half")
  other = tmp_path / ".other.tmp-0badcafe"  # Another dataset's writer, maybe alive.
  other.mkdir()
  lookalike = tmp_path / ".ds.tmp-notours"
  lookalike.mkdir()
  importers.convert(source, str(tmp_path / "ds"))
  assert not stale.exists() and other.exists() and lookalike.exists()


def test_two_writers_of_one_dataset_the_second_is_refused_naming_the_first(tmp_path):
  path = str(tmp_path / "ds")
  spec = fakes.DEFAULT_SPEC
  with rlds_io.RLDSWriter(path, spec, 2, -np.ones(2), np.ones(2)) as first:
    with pytest.raises(file_utils.DirectoryInUseError, match=f"PID {os.getpid()}"):
      rlds_io.RLDSWriter(path, spec, 2, -np.ones(2), np.ones(2))
    first.add_episode(fakes.make_episode(3, action_dim=2))
  assert rlds_io.read_metadata(path)["num_episodes"] == 1


# One writer per workdir ------------------------------------------------------

_HOLD = """
import sys, time
from pa_rl.runners import common
common.WorkdirLock(sys.argv[1]).acquire()
print("HELD", flush=True)
time.sleep(600)
"""


def test_a_second_run_in_a_workdir_is_refused_naming_the_first_and_a_dead_ones_lock_is_taken(
    two_routes_data, tmp_path):
  workdir = str(tmp_path / "run")
  holder = subprocess.Popen([sys.executable, "-c", _HOLD, workdir], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
  try:
    assert holder.stdout.readline().strip() == "HELD"
    with pytest.raises(file_utils.DirectoryInUseError, match=f"PID {holder.pid}"):
      runners.train_offline(workdir, two_routes_data, **TINY)
    assert sorted(os.listdir(workdir)) == [".lock"]  # Nothing else was written.
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
  summary = runners.train_offline(workdir, two_routes_data, **TINY)
  assert summary["step"] == 4
  assert not os.path.exists(os.path.join(workdir, ".lock"))  # Released at the end.


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_message(tmp_path, capsys):
  lock_path = str(tmp_path / ".lock")
  with open(lock_path, "w") as f:
    f.write("999999999\n")  # No such process; the kernel holds no flock for it.
  lock = file_utils.DirectoryLock(lock_path, "workdir X").acquire()
  try:
    assert "from process 999999999, which ended without releasing it" in capsys.readouterr().out
    with open(lock_path) as f:
      assert f.read().strip() == str(os.getpid())
  finally:
    lock.release()
  assert not os.path.exists(lock_path)


def test_two_train_offline_processes_on_one_workdir_one_is_refused(two_routes_data, tmp_path):
  workdir = str(tmp_path / "run")
  first = _start_training(workdir, two_routes_data)
  try:
    _wait_for_checkpoint(first, workdir)
    second = subprocess.run(first.args, cwd=ROOT, env=_ENV, capture_output=True, text=True,
                            timeout=300)
    assert first.poll() is None  # Still training: the second met a live owner.
  finally:
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=300)
  assert second.returncode == 1, second.stderr[-2000:]
  assert f"in use by another process (PID {first.pid}" in second.stderr, second.stderr[-2000:]
  assert "Traceback" not in second.stderr
  steps = [int(r["step"]) for r in _csv_rows(os.path.join(workdir, "train.csv"))]
  assert steps == list(range(1, len(steps) + 1)), steps[:10]
  assert len(os.listdir(os.path.join(workdir, "tensorboard"))) == 1


def _start_training(workdir, data):
  """A train_offline binary of tiny networks, far from done (1M updates)."""
  args = ["--workdir=" + workdir, f"--gin_bindings=train_offline.dataset_path = '{data}'",
          "--gin_bindings=train_offline.num_steps = 1000000"]
  args += [f"--gin_bindings={b}" for b in GIN_TINY]
  return subprocess.Popen([sys.executable, "-m", "pa_rl.binaries.train_offline", *args],
                          cwd=ROOT, env=_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def _wait_for_checkpoint(process, workdir):
  checkpoints = os.path.join(workdir, "checkpoints")
  deadline = time.time() + 300
  while not (os.path.isdir(checkpoints) and any(n.startswith("ckpt_")
                                                for n in os.listdir(checkpoints))):
    assert process.poll() is None, process.communicate()[1][-2000:]
    assert time.time() < deadline, "no checkpoint within 300 s"
    time.sleep(0.05)


def _csv_rows(path):
  from pa_rl import metrics_writer  # pylint: disable=g-import-not-at-top
  return metrics_writer.read_csv(path)


# Refused configs change nothing ----------------------------------------------

def _snapshot(workdir):
  return {name: content for name, content in _tree(workdir).items()
          if not name.startswith((".mode", "tensorboard"))}


@pytest.mark.parametrize("change", [
    {"policy_config": {"hidden_sizes": (16,)}},
    {"policy_type": "diffusion", "policy_config": None},
    {"agent_config": {"batch_size": 4, "policy_lr": 1e-3}},
])
def test_a_refused_resume_writes_nothing(two_routes_data, tmp_path, change):
  workdir = str(tmp_path / "run")
  runners.train_offline(workdir, two_routes_data, **{**TINY, "num_steps": 2})
  before = _snapshot(workdir)
  with pytest.raises(ValueError, match="holds a|holds another run") as e:
    runners.train_offline(workdir, two_routes_data, **{**TINY, **change})
  if "agent_config" in change:  # A changed hyperparameter is named, old and new.
    assert "agent_config.policy_lr: 0.0003 -> 0.001" in str(e.value), str(e.value)
  assert _snapshot(workdir) == before


def test_refused_binaries_leave_config_gin_as_it_was(two_routes_data, tmp_path):
  workdir = str(tmp_path / "run")
  base = ["--workdir=" + workdir,
          f"--gin_bindings=train_offline.dataset_path = '{two_routes_data}'",
          "--gin_bindings=train_offline.num_steps = 2"]
  first = _run("train_offline", *base, *[f"--gin_bindings={b}" for b in GIN_TINY])
  assert first.returncode == 0, first.stderr[-2000:]
  before = _snapshot(workdir)
  wider = [b.replace("(8,)", "(32,)") for b in GIN_TINY]
  refused = _run("train_offline", *base, *[f"--gin_bindings={b}" for b in wider])
  assert refused.returncode == 1 and "holds another run" in refused.stderr, refused.stderr
  assert "Traceback" not in refused.stderr
  online = _run("finetune_online", "--workdir=" + workdir, "--offline_workdir=" + workdir,
                "--gin_bindings=finetune_online.num_episodes = 1")
  assert online.returncode == 1 and "must differ" in online.stderr, online.stderr
  assert _snapshot(workdir) == before
  # The traceback is there under --verbosity.
  verbose = _run("train_offline", *base, *[f"--gin_bindings={b}" for b in wider],
                 "--verbosity=0")
  assert verbose.returncode == 1 and "Traceback" in verbose.stderr


def test_resuming_with_the_same_settings_and_a_larger_num_steps_still_works(two_routes_data,
                                                                            tmp_path):
  workdir = str(tmp_path / "run")
  runners.train_offline(workdir, two_routes_data, **{**TINY, "num_steps": 2})
  spec_bytes = open(os.path.join(workdir, "experiment.json"), "rb").read()
  summary = runners.train_offline(workdir, two_routes_data, **{**TINY, "num_steps": 4})
  assert summary["step"] == 4
  assert open(os.path.join(workdir, "experiment.json"), "rb").read() == spec_bytes


def test_num_steps_zero_on_a_new_workdir_is_an_error(two_routes_data, tmp_path):
  with pytest.raises(ValueError, match="num_steps=0 trains nothing"):
    runners.train_offline(str(tmp_path / "run"), two_routes_data, **{**TINY, "num_steps": 0})
  assert os.listdir(tmp_path / "run") == []  # No experiment.json for a run that never was.


# Temporary files of killed writers -------------------------------------------

def test_resume_removes_only_the_runs_own_stale_temporaries(two_routes_data, tmp_path):
  workdir = tmp_path / "run"
  runners.train_offline(str(workdir), two_routes_data, **{**TINY, "num_steps": 2})
  ours = [workdir / "checkpoints" / ".ckpt_4.npz.tmp-62a8eb94",
          workdir / ".experiment.json.tmp-0123abcd"]
  theirs = [workdir / "checkpoints" / "notes.tmp-62a8eb94", workdir / ".hidden.tmp-xyz"]
  for path in ours + theirs:
    path.write_bytes(b"partial")
  runners.train_offline(str(workdir), two_routes_data, **TINY)
  assert [p.exists() for p in ours] == [False, False]
  assert [p.exists() for p in theirs] == [True, True]


# Errors that name the thing --------------------------------------------------

def test_a_path_under_a_file_is_not_a_directory(two_routes_data, tmp_path):
  afile = tmp_path / "afile"
  afile.write_text("x")
  with pytest.raises(NotADirectoryError, match="afile is a file, not a directory"):
    importers.convert(_npz(tmp_path / "a.npz"), str(afile / "sub"))
  with pytest.raises(NotADirectoryError, match="afile is a file, not a directory"):
    runners.train_offline(str(afile), two_routes_data, **TINY)
  result = _run("train_offline", f"--workdir={afile}",
                f"--gin_bindings=train_offline.dataset_path = '{two_routes_data}'",
                *[f"--gin_bindings={b}" for b in GIN_TINY])
  assert result.returncode == 1 and "Traceback" not in result.stderr
  assert "is a file, not a directory" in result.stderr
  assert afile.read_text() == "x"


_RAISES = """
import sys
from pa_rl.binaries import running
def main(argv):
  raise PermissionError(13, "Permission denied", "/read/only/dir")
running.run(main)
"""


def test_an_os_error_prints_one_clean_line():
  result = subprocess.run([sys.executable, "-c", _RAISES], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1] == (
      "Error: [Errno 13] Permission denied: '/read/only/dir'")
  assert "Traceback" not in result.stderr


def test_error_line_drops_gins_call_site_lines():
  error = ValueError("policy_type='nope' is unknown\n  In call to configurable "
                     "'train_offline' (<function train_offline at 0x7f>)")
  assert running.error_line(error) == "policy_type='nope' is unknown"


def test_sigint_says_where_a_rerun_resumes(two_routes_data, tmp_path):
  workdir = str(tmp_path / "run")
  process = _start_training(workdir, two_routes_data)
  _wait_for_checkpoint(process, workdir)
  process.send_signal(signal.SIGINT)
  out, err = process.communicate(timeout=120)
  assert process.returncode == 130, err[-2000:]
  assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
  line = [l for l in out.splitlines() if l.startswith("Interrupted at step")]
  assert line and "rerun the same command to resume from the checkpoint at step" in line[0], out
  assert not os.path.exists(os.path.join(workdir, ".lock"))


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask

