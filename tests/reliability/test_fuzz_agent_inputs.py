"""Fuzz: bad observations to ``agent.act`` and bad batches to ``agent.update``
are rejected with a ValueError/TypeError naming the key or field, before
anything is compiled (the agents are built once; no case reaches jit).

Generated cases (hypothesis, derandomized):
  test_bad_observation_is_rejected   150
  test_bad_batch_is_rejected         150
  total in this module               300
"""

from hypothesis import given
from hypothesis import strategies as st
import numpy as np
import pytest

import pa_rl as ljx
from pa_rl import types
from pa_rl.agents import functional
from pa_rl.testing import tiny
from tests.reliability import fuzzing

# One agent per kind: a single-key imitation agent (bare arrays allowed, no
# normalizer) and a PA-RL agent with a low-dim key, an image, task ids,
# action chunks and a normalizer.
SIMPLE_META = types.ShapeMeta(observations={"state": types.ObsSpec((3,))}, action_dim=2)
RICH_META = types.ShapeMeta.from_dict({
    "observations": {"state": {"shape": [3]}, "image": {"shape": [4, 4, 3], "type": "rgb"}},
    "action_dim": 2, "action_horizon": 2, "num_tasks": 2,
    "normalizer": {"obs_mean": {"state": [0.0, 0.0, 0.0]}, "obs_std": {"state": [1.0] * 3},
                   "action_low": [-2.0, -2.0], "action_high": [2.0, 2.0]}})
BATCH = 3


@pytest.fixture(scope="module")
def agents():
  simple = ljx.create_agent(
      "imitation", ljx.create_policy_model("gaussian", 0, SIMPLE_META, {"hidden_sizes": (4,)}),
      None, 0, {"batch_size": BATCH})
  rich_policy = ljx.create_policy_model("gaussian", 0, RICH_META, {
      "hidden_sizes": (4,), "image_channels": (2,), "image_embedding_dim": 4,
      "task_embedding_dim": 2})
  rich_critic = ljx.create_q_critic("ensemble", 0, RICH_META, {
      "hidden_sizes": (4,), "ensemble_size": 2, "image_channels": (2,),
      "image_embedding_dim": 4, "task_embedding_dim": 2})
  rich = ljx.create_agent("offline_rl", rich_policy, rich_critic, 0,
                          {**tiny.AGENT_CONFIG, "batch_size": BATCH})
  return {"simple": simple, "rich": rich}


def valid_observation(meta, batch):
  """Observations of ``batch`` states (None: one unbatched state)."""
  lead = () if batch is None else (batch,)
  obs = {}
  for key, spec in meta.observations.items():
    if spec.type == types.RGB:
      obs[key] = np.full((*lead, *spec.shape), 7, np.uint8)
    else:
      obs[key] = np.full((*lead, *spec.shape), 0.5, np.float32)
  if meta.num_tasks:
    obs[types.TASK_ID_KEY] = np.ones(lead, np.int32)
  return obs


def valid_batch(meta):
  return {"observation": valid_observation(meta, BATCH),
          "action": np.full((BATCH, *meta.action_shape), 0.25, np.float32),
          "reward": np.ones(BATCH, np.float32), "discount": np.full(BATCH, 0.9, np.float32),
          "next_observation": valid_observation(meta, BATCH),
          "mc_return": np.ones(BATCH, np.float32)}


def _bad_array_value(shape, dtype, entry_shape=None):
  """An array (or array-like) that is wrong for a ``shape``/``dtype`` entry;
  for an observation key, ``entry_shape`` is its shape without a batch axis
  and any batch size (or none) is a valid shape."""
  def wrong_shape(s):
    s = tuple(s)
    if entry_shape is None:
      return s != tuple(shape)
    return s != tuple(entry_shape) and not (
        len(s) == len(entry_shape) + 1 and s[1:] == tuple(entry_shape) and s[0] >= 1)
  good = np.zeros(shape, dtype)
  size = int(np.prod(shape)) if shape else 1
  cases = [
      st.lists(st.integers(0, 4), max_size=4).filter(wrong_shape).map(
          lambda s: np.zeros(s, dtype)),
      st.just(None), st.text(max_size=4), st.just(object()),
      st.just(good.astype(bool)), st.just(good.astype(np.complex64) + 1j),
      st.just(good.astype(object)), st.just(good.astype(str)),
  ]
  if size:
    cases.append(st.just([list(range(1 + i % 2)) for i in range(max(2, size))]))  # Ragged.
  if np.issubdtype(dtype, np.floating) and size:
    cases.append(st.sampled_from([np.nan, np.inf, -np.inf, 1e39]).flatmap(
        lambda v: st.integers(0, size - 1).map(
            lambda i: np.put(copy_of := good.astype(np.float64).copy(), i, v) or copy_of)))
  return st.one_of(*cases)


@st.composite
def bad_observation(draw, meta, batch):
  """(observation, names) with exactly one thing wrong."""
  obs = valid_observation(meta, batch)
  keys = sorted(meta.observations)
  lead = () if batch is None else (batch,)
  cases = ["value", "value", "value", "missing", "unknown"]
  if any(s.type == types.RGB for s in meta.observations.values()):
    cases.append("rgb")
  if meta.num_tasks:
    cases += ["task", "task"]
  if batch is not None and len(keys) > 1:
    cases.append("batch_mismatch")
  if batch is not None:
    cases.append("empty")
  if len(keys) > 1:
    cases.append("not_a_dict")
  case = draw(st.sampled_from(cases))
  if case == "value":
    key = draw(st.sampled_from(keys))
    spec = meta.observations[key]
    if spec.type == types.RGB:
      obs[key] = draw(_bad_array_value((*lead, *spec.shape), np.uint8, spec.shape).filter(
          lambda v: not (isinstance(v, np.ndarray) and v.dtype == np.float64)))
    else:
      obs[key] = draw(_bad_array_value((*lead, *spec.shape), np.float32, spec.shape))
    return obs, [key]
  if case == "missing":
    key = draw(st.sampled_from(sorted(obs)))
    del obs[key]
    return obs, [key]
  if case == "unknown":
    key = draw(fuzzing.identifier(list(obs)))
    obs[key] = np.zeros(3, np.float32)
    return obs, [key]
  if case == "rgb":
    key = next(k for k, s in meta.observations.items() if s.type == types.RGB)
    value = obs[key].astype(np.int64)
    bad = draw(st.one_of(st.integers(-2**40, -1), st.integers(256, 2**40)))
    value.flat[draw(st.integers(0, value.size - 1))] = bad
    obs[key] = draw(st.sampled_from([value, value.astype(np.float32) / 255.0 + 0.5]))
    return obs, [key]
  if case == "task":
    obs[types.TASK_ID_KEY] = draw(st.one_of(
        st.integers(-2**40, -1).map(lambda t: np.full(lead, t)),
        st.integers(meta.num_tasks, 2**40).map(lambda t: np.full(lead, t)),
        st.floats(0, 1).map(lambda t: np.full(lead, t)),
        st.just(np.ones(lead, bool)),
        st.lists(st.integers(0, 3), max_size=2).filter(lambda s: tuple(s) != lead).map(
            lambda s: np.zeros(s, np.int32))))
    return obs, [types.TASK_ID_KEY]
  if case == "batch_mismatch":
    key = draw(st.sampled_from(keys))
    other = draw(st.integers(1, 5).filter(lambda n: n != batch))
    obs[key] = np.repeat(obs[key][:1], other, axis=0)
    return obs, ["batch size"]
  if case == "empty":
    return {k: v[:0] for k, v in obs.items()}, ["empty"]
  # A bare array where a dict is needed.
  return draw(st.sampled_from([obs[keys[0]], list(obs.values()), None])), ["dict"]


@st.composite
def bad_act_call(draw):
  kind = draw(st.sampled_from(["simple", "rich"]))
  meta = SIMPLE_META if kind == "simple" else RICH_META
  batch = draw(st.sampled_from([None, 2]))
  case = draw(st.sampled_from(["observation"] * 4 + ["evaluation", "guidance_scale", "seed"]))
  kwargs = {}
  if case == "observation":
    obs, names = draw(bad_observation(meta, batch))
  else:
    obs, names = valid_observation(meta, batch), [case]
    kwargs[case] = draw({
        "evaluation": st.one_of(st.none(), st.integers(), st.text(max_size=3),
                                st.just(np.array([True, False]))),
        "guidance_scale": st.one_of(st.floats(max_value=0, exclude_max=True),
                                    st.sampled_from([np.nan, np.inf]), st.text(max_size=3),
                                    st.none(), st.booleans()),
        "seed": st.one_of(st.floats(), st.text(max_size=3), st.booleans(),
                          st.integers(min_value=2**63), st.integers(max_value=-2**63 - 1)),
    }[case])
  return kind, obs, kwargs, names


def test_valid_inputs_work(agents):
  """The valid cases the fuzzers start from pass validation (and, for the
  cheap agent, do act and update: compiling the other would cost seconds)."""
  simple = agents["simple"]
  assert simple.act(valid_observation(SIMPLE_META, None)).shape == SIMPLE_META.action_shape
  assert simple.update(valid_batch(SIMPLE_META))["agent"].step == 1
  # Ints where floats are expected are converted, not refused.
  batch = valid_batch(SIMPLE_META)
  batch["reward"] = np.ones(BATCH, np.int64)
  assert simple.update(batch)["agent"].step == 1
  for batch_size in (None, 2):
    obs, size = functional.check_observation(valid_observation(RICH_META, batch_size),
                                             RICH_META, "observation")
    assert size == batch_size and obs["image"].dtype == np.uint8
  checked = functional.check_batch(valid_batch(RICH_META), RICH_META)
  assert checked.action.shape == (BATCH, 2, 2)


@fuzzing.fuzz_settings(150)
@given(case=bad_act_call())
def test_bad_observation_is_rejected(case, agents):
  kind, obs, kwargs, names = case
  fuzzing.assert_rejected(lambda: agents[kind].act(obs, **kwargs), names)


@st.composite
def bad_batch(draw):
  kind = draw(st.sampled_from(["simple", "rich"]))
  meta = SIMPLE_META if kind == "simple" else RICH_META
  batch = valid_batch(meta)
  fields = list(batch)
  cases = ["value"] * 4 + ["observation"] * 3 + ["missing", "unknown", "not_a_batch",
                                                  "discount", "batch_size"]
  if meta.normalizer is not None:
    cases.append("unnormalized_action")
  case = draw(st.sampled_from(cases))
  if case == "value":
    field = draw(st.sampled_from(["action", "reward", "discount", "mc_return"]))
    batch[field] = draw(_bad_array_value(np.shape(batch[field]), np.float32))
    names = [f"batch.{field}"]
  elif case == "observation":
    field = draw(st.sampled_from(["observation", "next_observation"]))
    batch[field], names = draw(bad_observation(meta, BATCH))
    names = [f"batch.{field}"]
  elif case == "missing":
    field = draw(st.sampled_from(fields))
    del batch[field]
    names = [field]
  elif case == "unknown":
    field = draw(fuzzing.identifier(fields))
    batch[field] = batch["reward"]
    names = [field]
  elif case == "not_a_batch":
    return kind, draw(st.one_of(st.none(), st.integers(), st.text(max_size=3),
                                st.just(tuple(batch.values())),
                                st.just(list(batch.values())))), ["batch"]
  elif case == "discount":
    # Far enough outside [0, 1] to stay outside in float32.
    value = draw(st.one_of(st.floats(max_value=-1e-6, allow_infinity=False),
                           st.floats(min_value=1.001, allow_infinity=False)))
    batch["discount"] = np.full(BATCH, value, np.float64)
    names = ["batch.discount"]
  elif case == "batch_size":
    field = draw(st.sampled_from(["reward", "discount", "mc_return", "observation",
                                  "next_observation"]))
    other = draw(st.integers(1, 6).filter(lambda n: n != BATCH))
    batch[field] = (valid_observation(meta, other) if "observation" in field
                    else np.ones(other, np.float32))
    names = [f"batch.{field}"]
  else:
    value = draw(st.floats(1.01, 1e6)) * draw(st.sampled_from([1.0, -1.0]))
    action = np.array(batch["action"], np.float32).reshape(-1)
    action[draw(st.integers(0, action.size - 1))] = np.float32(value)
    batch["action"] = action.reshape(batch["action"].shape)
    names = ["batch.action"]
  as_transition = draw(st.booleans()) and set(batch) == set(types.Transition._fields)
  return kind, types.Transition(**batch) if as_transition else batch, names


@fuzzing.fuzz_settings(150)
@given(case=bad_batch())
def test_bad_batch_is_rejected(case, agents):
  kind, batch, names = case
  fuzzing.assert_rejected(lambda: agents[kind].update(batch), names)
