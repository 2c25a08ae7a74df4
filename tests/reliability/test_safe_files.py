"""Files the library reads cannot execute code: no pickle anywhere.

Checkpoints are .npz read with ``allow_pickle=False``; datasets are RLDS
(TFRecord + JSON). This scans the package source for every way Python can
unpickle or evaluate a file, and checks that a checkpoint holding a pickled
object is refused.
"""

import os
import re

import numpy as np
import pytest

import pa_rl
from pa_rl.agents import state as state_lib

PACKAGE = os.path.dirname(pa_rl.__file__)
# Unpickling or evaluating loaders; np.load must say allow_pickle=False.
FORBIDDEN = re.compile(r"\bimport (c?pickle|dill|joblib|cloudpickle|shelve|marshal)\b"
                       r"|\bfrom (c?pickle|dill|joblib|cloudpickle|shelve|marshal) import"
                       r"|pickle\.loads?\(|yaml\.load\(|\beval\(|\bexec\(|allow_pickle=True"
                       r"|torch\.load\(")


def _sources():
  for root, _, files in os.walk(PACKAGE):
    for name in files:
      if name.endswith(".py"):
        path = os.path.join(root, name)
        with open(path) as f:
          yield os.path.relpath(path, PACKAGE), f.read()


def test_no_unpickling_or_eval_in_the_package():
  found = [f"{path}: {m.group(0)}" for path, text in _sources()
           for m in FORBIDDEN.finditer(text)]
  assert not found, found


def test_every_np_load_refuses_pickles():
  calls = [(path, line) for path, text in _sources() for line in text.splitlines()
           if "np.load(" in line]
  assert calls  # Checkpoints and render requests use it.
  for path, line in calls:
    assert "allow_pickle=False" in line, f"{path}: {line.strip()}"


def test_checkpoint_holding_a_pickled_object_is_refused(tmp_path):
  path = str(tmp_path / "ckpt_1.npz")
  np.savez(path, leaf_00000=np.array([{"a": 1}], dtype=object))
  with pytest.raises(state_lib.CheckpointError, match="unreadable"):
    state_lib.load_checkpoint(path, [np.zeros(1)])
