"""Fuzz: dataset directories with missing, corrupt or odd files.

Each example copies one small valid RLDS dataset (written once per module)
to a fresh directory and damages it. Loading must then either raise a
`DatasetError` that names the problem, or, where the damage is harmless (an
unrelated file added, a changed description), load exactly the same data.
Flipped bytes in the tfrecord shard are always an error: TFRecord's CRC32C
checks catch them, and a shard cut at a record boundary (which passes the
CRC checks) is caught by comparing with the recorded episode counts.

Generated cases (hypothesis, derandomized; each load costs ~0.2 s):
  test_damaged_dataset_is_rejected_or_loads_the_same   100
  test_bad_load_arguments_are_rejected                  50
  total in this module                                 150
"""

import json
import os
import shutil
import struct
import tempfile

from hypothesis import given
from hypothesis import strategies as st
import numpy as np
import pytest
import rlds

import pa_rl as ljx
from pa_rl import types
from pa_rl.datasets import rlds_io
from pa_rl.testing import fakes
from tests.reliability import fuzzing

SPEC = {"state": types.ObsSpec((3,))}
JSON_FILES = ("dataset_info.json", "features.json", "pa_rl_metadata.json")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
  """(path, shard file name, the episodes as loaded)."""
  path = str(tmp_path_factory.mktemp("fuzz_data") / "ds")
  fakes.write_dataset(path, (3, 2, 4), observation_spec=SPEC)
  shard = next(f for f in os.listdir(path) if ".tfrecord" in f)
  episodes, _ = rlds_io.load_episodes(path)
  return path, shard, episodes


def _record_boundaries(data: bytes) -> list[int]:
  """Offsets where TFRecord records end (8-byte length, 4-byte CRC, payload,
  4-byte CRC)."""
  offsets, pos = [], 0
  while pos < len(data):
    (length,) = struct.unpack("<Q", data[pos:pos + 8])
    pos += 8 + 4 + length + 4
    offsets.append(pos)
  return offsets


@st.composite
def damage(draw, shard):
  """(description, mutate(path), names the error may mention, may be harmless)."""
  files = [shard, *JSON_FILES]
  case = draw(st.sampled_from(["delete", "truncate", "empty", "flip", "flip", "flip_shard",
                               "cut_at_record", "append", "add_file", "wrong_json",
                               "bad_sidecar"]))
  if case == "delete":
    name = draw(st.sampled_from(files))
    # Without the sidecar, the data is RLDS written elsewhere: same episodes.
    return case, lambda p: os.remove(os.path.join(p, name)), [name, "records"], (
        name == "pa_rl_metadata.json")
  if case in ("truncate", "empty"):
    name = draw(st.sampled_from(files))
    fraction = 0.0 if case == "empty" else draw(st.floats(0.0, 0.99))
    def cut(p):
      full = os.path.join(p, name)
      with open(full, "r+b") as f:
        f.truncate(int(os.path.getsize(full) * fraction))
    return case, cut, [name, "records"], False
  if case in ("flip", "flip_shard"):
    name = shard if case == "flip_shard" else draw(st.sampled_from(files))
    position = draw(st.floats(0.0, 1.0, exclude_max=True))
    mask = draw(st.integers(1, 255))
    def flip(p):
      full = os.path.join(p, name)
      with open(full, "r+b") as f:
        data = bytearray(f.read())
        i = int(len(data) * position)
        data[i] ^= mask
        f.seek(0)
        f.write(data)
    # A flipped byte in a JSON file may leave valid JSON that means the same
    # (a description, a byte count); in the shard it never may.
    return case, flip, [name, "records", "JSON", "dataset"], name != shard
  if case == "cut_at_record":
    def cut_records(p):
      full = os.path.join(p, shard)
      with open(full, "rb") as f:
        boundaries = _record_boundaries(f.read())
      with open(full, "r+b") as f:
        f.truncate(boundaries[draw_index % (len(boundaries) - 1)])
    draw_index = draw(st.integers(0, 10))
    return case, cut_records, ["episodes"], False
  if case == "append":
    # Bytes that form no complete record: TF's reader stops at them, so the
    # same episodes may load. A whole valid record (a copied episode) passes
    # every CRC check and must be caught by the recorded episode counts.
    tail = draw(st.one_of(st.binary(min_size=1, max_size=40), st.just(None)))
    def append(p):
      full = os.path.join(p, shard)
      with open(full, "rb") as f:
        data = f.read()
      with open(full, "ab") as f:
        f.write(data[:_record_boundaries(data)[0]] if tail is None else tail)
    return case, append, ["records", "episodes"], tail is not None
  if case == "add_file":
    name = draw(st.one_of(
        fuzzing.identifier(), st.sampled_from([".hidden", "README.md", "notes.json",
                                               "pa_rl_episodes-test.tfrecord-00000-of-00001",
                                               "checkpoint", "x.tmp"])).filter(
                                                   lambda n: n not in files))
    content = draw(st.binary(max_size=64))
    as_dir = draw(st.booleans())
    def add(p):
      full = os.path.join(p, name)
      if as_dir:
        os.makedirs(full)
        with open(os.path.join(full, "f"), "wb") as f:
          f.write(content)
      else:
        with open(full, "wb") as f:
          f.write(content)
    return case, add, [], True
  if case == "wrong_json":
    name = draw(st.sampled_from(JSON_FILES))
    value = draw(st.one_of(st.none(), st.integers(), st.text(max_size=5),
                           st.lists(st.integers(), max_size=2), st.just({}),
                           st.dictionaries(fuzzing.identifier(), st.integers(), min_size=1,
                                           max_size=2)))
    def write(p):
      with open(os.path.join(p, name), "w") as f:
        json.dump(value, f)
    # An empty sidecar is the same as none.
    harmless = name == "pa_rl_metadata.json" and isinstance(value, dict) and not (
        set(value) & {"action_low", "action_high", "num_episodes", "num_steps",
                      "observation_spec"})
    return case, write, [name, "dataset"], harmless
  # A sidecar whose entries contradict the records or each other.
  key, value = draw(st.one_of(
      st.tuples(st.sampled_from(["action_low", "action_high"]), st.one_of(
          st.just("wide"), st.just([]), st.just([0.0]), st.just([0.0, 0.0, 0.0]),
          st.just([float("nan"), 0.0]), st.just([True, False]),
          st.just({"a": 1}))),
      st.just(("action_low", [5.0, 5.0])),
      st.tuples(st.sampled_from(["num_episodes", "num_steps"]), st.one_of(
          st.integers(-5, 100).filter(lambda n: n not in (3, 12)), st.floats(),
          st.text(max_size=3), st.booleans())),
      st.tuples(st.just("observation_spec"), st.one_of(
          st.just([]), st.just({"state": {"shape": [4]}}), st.just({"other": {"shape": [3]}}),
          st.just({"state": {"shape": "3"}}), st.just({"state": 3})))))
  def edit(p):
    full = os.path.join(p, "pa_rl_metadata.json")
    with open(full) as f:
      meta = json.load(f)
    meta[key] = value
    with open(full, "w") as f:
      json.dump(meta, f)
  return f"sidecar {key}", edit, [key], False


def _same_episodes(got, want):
  assert len(got) == len(want)
  for g, w in zip(got, want):
    for field in (rlds.ACTION, rlds.REWARD, rlds.DISCOUNT, rlds.IS_FIRST, rlds.IS_LAST,
                  rlds.IS_TERMINAL):
      np.testing.assert_array_equal(g[rlds.STEPS][field], w[rlds.STEPS][field])
    np.testing.assert_array_equal(g[rlds.STEPS][rlds.OBSERVATION]["state"],
                                  w[rlds.STEPS][rlds.OBSERVATION]["state"])


@fuzzing.fuzz_settings(100)
@given(data=st.data())
def test_damaged_dataset_is_rejected_or_loads_the_same(dataset, data):
  path, shard, episodes = dataset
  description, mutate, names, may_be_harmless = data.draw(damage(shard))
  with tempfile.TemporaryDirectory() as tmp:
    copy = os.path.join(tmp, "ds")
    shutil.copytree(path, copy)
    mutate(copy)
    try:
      got, _ = rlds_io.load_episodes(copy)
    except rlds_io.DatasetError as e:
      message = str(e)
      assert any(n in message for n in names) or copy in message, (description, message)
      return
    assert may_be_harmless, f"{description}: loaded silently"
    _same_episodes(got, episodes)


@st.composite
def bad_load_arguments(draw):
  case = draw(st.sampled_from(["path", "discount", "n_step", "action_horizon", "seed"]))
  if case == "path":
    return {"path": draw(st.one_of(st.just("/nonexistent/pa_rl_fuzz"), st.just(__file__)))}, [
        "path", "does not exist", "not a directory"]
  value = draw({
      "discount": fuzzing.bad_number(0, 1),
      "n_step": fuzzing.bad_int(1),
      "action_horizon": fuzzing.bad_int(1),
      "seed": st.one_of(st.floats(), st.text(max_size=3), st.none(), st.booleans()),
  }[case])
  return {case: value}, [case]


@fuzzing.fuzz_settings(50)
@given(case=bad_load_arguments())
def test_bad_load_arguments_are_rejected(case, dataset):
  kwargs, names = case
  kwargs = {"path": dataset[0], **kwargs}
  fuzzing.assert_rejected(lambda: ljx.OfflineDataset.load_from_path(**kwargs), names)
