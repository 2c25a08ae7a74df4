"""Fuzz: bad shape_meta, network configs and agent configs are rejected with
a ValueError/TypeError naming the field, before anything is compiled.

Generated cases (hypothesis, derandomized):
  test_bad_shape_meta_is_rejected               150
  test_bad_network_config_is_rejected           150
  test_bad_agent_config_is_rejected             150
  test_bad_action_optimization_config_is_rejected 100
  total in this module                          550
"""

import copy
import dataclasses

from hypothesis import given
from hypothesis import strategies as st
import numpy as np
import pytest

import pa_rl as ljx
from pa_rl import action_optimization
from pa_rl import config_utils
from pa_rl import types
from pa_rl.agents import bc
from pa_rl.agents import calql
from pa_rl.agents import iql
from pa_rl.agents import parl
from pa_rl.testing import tiny
from tests.reliability import fuzzing
from tests.reliability.fuzzing import INT, NUM

# ---------------------------------------------------------------------------
# shape_meta

VALID_SHAPE_META = {
    "observations": {"state": {"shape": [3], "type": "low_dim"},
                     "image": {"shape": [4, 4, 3], "type": "rgb"}},
    "action_dim": 2,
    "action_horizon": 1,
    "num_tasks": 0,
    "normalizer": {"obs_mean": {"state": [0.0, 0.0, 0.0]},
                   "obs_std": {"state": [1.0, 1.0, 1.0]},
                   "action_low": [-1.0, -1.0], "action_high": [1.0, 1.0]},
}
_SHAPE_META_KEYS = list(VALID_SHAPE_META)
_NORMALIZER_KEYS = list(VALID_SHAPE_META["normalizer"])


def _set(path, value):
  """A mutation that sets ``d[path[0]]...[path[-1]] = value``."""
  def mutate(d):
    for key in path[:-1]:
      d = d[key]
    d[path[-1]] = value
  return mutate


def _delete(path):
  def mutate(d):
    for key in path[:-1]:
      d = d[key]
    del d[path[-1]]
  return mutate


def _bad_obs_shape():
  bad_element = st.one_of(st.integers(max_value=0), st.floats(), st.booleans(),
                          st.text(min_size=1, max_size=2))
  return st.one_of(
      st.lists(st.integers(1, 4), max_size=2).flatmap(
          lambda good: bad_element.map(lambda b: [*good, b])),
      st.text(min_size=1, max_size=3), st.integers(), st.none(), st.floats())


@st.composite
def bad_shape_meta(draw):
  """(bad shape_meta, names one of which the error must mention)."""
  ident = fuzzing.identifier
  cases = [
      # The whole thing, or a top-level entry.
      st.tuples(st.one_of(st.none(), st.integers(), st.text(max_size=4),
                          st.lists(st.integers(), max_size=2)), st.just(["shape_meta"])),
      st.sampled_from(["observations", "action_dim"]).map(lambda k: (_delete([k]), [k])),
      ident(_SHAPE_META_KEYS).map(lambda k: (_set([k], 1), [k])),
      st.sampled_from(["action_dim", "action_horizon"]).flatmap(
          lambda k: fuzzing.bad_int(1).map(lambda v: (_set([k], v), [k]))),
      fuzzing.bad_int(0).map(lambda v: (_set(["num_tasks"], v), ["num_tasks"])),
      # Observations and their specs.
      st.one_of(st.just({}), st.lists(st.text(max_size=3), max_size=2), st.integers(),
                st.text(max_size=3), st.none()).map(
                    lambda v: (_set(["observations"], v), ["observations"])),
      st.one_of(st.integers(), st.just(""), st.just("task_id"), st.none()).map(
          lambda k: (_set(["observations", k], {"shape": [2]}),
                     ["observations", "task_id"])),
      st.sampled_from(["state", "image"]).flatmap(lambda k: st.one_of(
          st.one_of(st.integers(), st.text(max_size=3), st.none(), st.lists(
              st.integers(1, 3), max_size=3)).map(
                  lambda v: (_set(["observations", k], v), [k])),
          _bad_obs_shape().map(lambda v: (_set(["observations", k, "shape"], v), ["shape"])),
          fuzzing.bad_choice(types.OBS_TYPES).map(
              lambda v: (_set(["observations", k, "type"], v), ["type"])),
          ident(["shape", "type"]).map(
              lambda u: (_set(["observations", k, u], 1), [u])),
          st.just((_delete(["observations", k, "shape"]), ["shape"])))),
      st.lists(st.integers(1, 4), max_size=4).filter(lambda s: len(s) != 3).map(
          lambda s: (_set(["observations", "image", "shape"], s), ["shape"])),
      # The normalizer.
      st.one_of(st.integers(), st.text(max_size=3), st.lists(st.floats(), max_size=2)).map(
          lambda v: (_set(["normalizer"], v), ["normalizer"])),
      st.sampled_from(_NORMALIZER_KEYS).map(
          lambda k: (_delete(["normalizer", k]), [k])),
      ident(_NORMALIZER_KEYS).map(lambda k: (_set(["normalizer", k], [0.0]), [k])),
      st.sampled_from(["obs_mean", "obs_std"]).flatmap(lambda k: st.one_of(
          st.sampled_from(["image", "task_id", "other"]).map(
              lambda o: (_set(["normalizer", k, o], [0.0, 0.0, 0.0]), [k])),
          st.lists(st.floats(-2, 2), max_size=5).filter(lambda v: len(v) != 3).map(
              lambda v: (_set(["normalizer", k, "state"], v), [k])),
          fuzzing.bad_finite().filter(lambda v: not isinstance(v, bool)).map(
              lambda v: (_set(["normalizer", k, "state"], [0.0, v, 1.0]), [k])),
          st.just((_set(["normalizer", k], [1.0]), [k])))),
      st.floats(max_value=0.0, allow_nan=False).map(
          lambda v: (_set(["normalizer", "obs_std", "state"], [1.0, v, 1.0]), ["obs_std"])),
      st.sampled_from(["action_low", "action_high"]).flatmap(lambda k: st.one_of(
          st.lists(st.floats(-1, 1), max_size=4).filter(lambda v: len(v) != 2).map(
              lambda v: (_set(["normalizer", k], v), [k])),
          fuzzing.bad_finite().filter(lambda v: not isinstance(v, bool)).map(
              lambda v: (_set(["normalizer", k], [0.0, v]), [k])))),
      st.floats(0.01, 5.0).map(lambda gap: (
          _set(["normalizer", "action_low"], [-1.0, 1.0 + gap]), ["action_low"])),
  ]
  mutate, names = draw(st.one_of(*cases))
  if not callable(mutate):  # Not a mutation: the whole shape_meta.
    return mutate, names
  shape_meta = copy.deepcopy(VALID_SHAPE_META)
  mutate(shape_meta)
  return shape_meta, names


_SHAPE_META_ENTRY_POINTS = {
    "ShapeMeta.from_dict": types.ShapeMeta.from_dict,
    "create_policy_model": lambda sm: ljx.create_policy_model(
        "gaussian", 0, sm, tiny.POLICY_CONFIGS["gaussian"]),
    "create_q_critic": lambda sm: ljx.create_q_critic(
        "ensemble", 0, sm, tiny.CRITIC_CONFIGS["ensemble"]),
}


def test_the_valid_shape_meta_is_valid():
  meta = types.ShapeMeta.from_dict(VALID_SHAPE_META)
  assert meta.to_dict() == {**VALID_SHAPE_META,
                            "normalizer": meta.normalizer.to_dict()}


@fuzzing.fuzz_settings(150)
@given(case=bad_shape_meta(), entry=st.sampled_from(sorted(_SHAPE_META_ENTRY_POINTS)))
def test_bad_shape_meta_is_rejected(case, entry):
  shape_meta, names = case
  fuzzing.assert_rejected(lambda: _SHAPE_META_ENTRY_POINTS[entry](shape_meta), names)


# ---------------------------------------------------------------------------
# Network configs (create_policy_model / create_q_critic)

_ENCODER = {"image_channels": ("sizes",), "image_embedding_dim": INT(1),
            "task_embedding_dim": INT(1)}
_ACTIVATION = ("choice", ("relu", "swish", "gelu", "elu", "tanh", "mish"))
POLICY_FIELDS = {
    "gaussian": {**_ENCODER, "hidden_sizes": ("sizes",), "activation": _ACTIVATION,
                 "layer_norm": ("bool",), "log_std_min": ("finite",),
                 "log_std_max": ("finite",)},
    "diffusion": {**_ENCODER, "num_diffusion_steps": INT(1),
                  "beta_schedule": ("choice", ("cosine", "linear")),
                  "sampler": ("choice", ("ddpm", "ddim")), "ddim_steps": ("opt_int", 1),
                  "ddim_eta": NUM(0, 1), "hidden_dim": INT(1), "num_blocks": INT(1),
                  "dropout_rate": NUM(0, 1, high_open=True), "time_dim": INT(2),
                  "activation": _ACTIVATION, "clip_sample": ("bool",)},
    "autoregressive": {**_ENCODER, "num_bins": INT(2), "num_layers": INT(1),
                       "num_heads": INT(1), "embed_dim": INT(1), "mlp_ratio": INT(1),
                       "dropout_rate": NUM(0, 1, high_open=True)},
}
_ENSEMBLE = {**_ENCODER, "hidden_sizes": ("sizes",), "value_hidden_sizes": ("sizes",),
             "activation": _ACTIVATION, "layer_norm": ("bool",), "value_head": ("bool",),
             "ensemble_size": INT(1), "target_subset_size": INT(1)}
CRITIC_FIELDS = {
    "ensemble": _ENSEMBLE,
    "distributional": {**_ENSEMBLE, "num_bins": INT(2), "v_min": ("finite",),
                       "v_max": ("finite",), "sigma_ratio": NUM(0, low_open=True),
                       "projection": ("choice", ("hl_gauss", "c51"))},
}
# Values that are each fine but break a relation between fields.
_RELATIONS = {
    "gaussian": st.floats(-3, 3).flatmap(lambda hi: st.floats(hi, 4).map(
        lambda lo: ({"log_std_min": lo, "log_std_max": hi}, ["log_std_min"]))),
    "diffusion": st.one_of(
        st.integers(1, 5).flatmap(lambda t: st.integers(t + 1, 9).map(
            lambda d: ({"num_diffusion_steps": t, "ddim_steps": d}, ["ddim_steps"]))),
        st.integers(1, 20).map(lambda h: ({"time_dim": 2 * h + 1}, ["time_dim"]))),
    "autoregressive": st.integers(2, 5).flatmap(lambda h: st.integers(1, 40).filter(
        lambda e: e % h).map(lambda e: ({"num_heads": h, "embed_dim": e}, ["embed_dim"]))),
    "ensemble": st.integers(1, 4).flatmap(lambda e: st.integers(e + 1, 8).map(
        lambda m: ({"ensemble_size": e, "target_subset_size": m}, ["target_subset_size"]))),
    "distributional": st.floats(-10, 10).flatmap(lambda hi: st.floats(hi, 20).map(
        lambda lo: ({"v_min": lo, "v_max": hi}, ["v_min"]))),
}


@st.composite
def bad_network_config(draw):
  """(entry point, type name, config, names)."""
  kind = draw(st.sampled_from(["policy", "critic"]))
  table = POLICY_FIELDS if kind == "policy" else CRITIC_FIELDS
  what = f"{kind}_type"
  type_name = draw(st.sampled_from(sorted(table)))
  case = draw(st.sampled_from(["field", "field", "field", "relation", "unknown_key",
                               "not_a_config", "unknown_type"]))
  if case == "field":
    field = draw(st.sampled_from(sorted(table[type_name])))
    config = {field: draw(fuzzing.bad_value(table[type_name][field]))}
    names = [field]
  elif case == "relation":
    config, names = draw(_RELATIONS[type_name])
  elif case == "unknown_key":
    key = draw(fuzzing.identifier(list(table[type_name])))
    config, names = {key: 1}, [key]
  elif case == "not_a_config":
    config = draw(st.one_of(st.integers(), st.text(max_size=4), st.lists(st.integers(),
                                                                         max_size=2)))
    names = ["config"]
  else:
    type_name = draw(fuzzing.identifier(list(table)))
    config, names = None, [what, type_name]
  return kind, type_name, config, names


META = types.ShapeMeta(observations={"state": types.ObsSpec((3,))}, action_dim=2)


@fuzzing.fuzz_settings(150)
@given(case=bad_network_config())
def test_bad_network_config_is_rejected(case):
  kind, type_name, config, names = case
  create = ljx.create_policy_model if kind == "policy" else ljx.create_q_critic
  fuzzing.assert_rejected(lambda: create(type_name, 0, META, config), names)


# ---------------------------------------------------------------------------
# Agent configs (create_agent and the XConfig dataclasses)

_LEARNER = {"batch_size": INT(1), "policy_lr": NUM(0, low_open=True),
            "grad_clip": NUM(0), "ema_decay": NUM(0, 1, high_open=True),
            "stop_on_nonfinite": ("bool",)}
_CRITIC_LEARNER = {**_LEARNER, "critic_lr": NUM(0, low_open=True), "discount": NUM(0, 1),
                   "tau": NUM(0, 1, low_open=True)}
_CALQL = {"cql_alpha": NUM(0), "num_cql_actions": INT(1), "use_calibration": ("bool",)}
_IQL = {"expectile": NUM(0, 1, True, True), "iql_bootstrap": ("choice", ("value",
                                                                          "action_optimization"))}
_PARL = {**_CRITIC_LEARNER, **_CALQL, **_IQL,
         "critic_objective": ("choice", ("calql", "iql"))}
AGENT_FIELDS = {
    "imitation": (bc.ImitationConfig, _LEARNER),
    "iql": (iql.IQLConfig, {**_CRITIC_LEARNER, **_IQL, "awr_temperature": NUM(0)}),
    "calql": (calql.CalQLConfig, {**_CRITIC_LEARNER, **_CALQL, "entropy_alpha": NUM(0)}),
    "offline_rl": (parl.PARLConfig, _PARL),
    "diffusion_rl": (parl.PARLConfig, _PARL),
    "actor_critic": (parl.ActorCriticConfig, {
        **_PARL, "online_fraction": NUM(0, 1), "utd_ratio": INT(1), "replay_capacity": INT(1),
        "reset_optimizers": ("bool",)}),
}


@pytest.fixture(scope="module")
def parts():
  """A policy and a critic (configs are checked before either is used)."""
  return (ljx.create_policy_model("gaussian", 0, META, tiny.POLICY_CONFIGS["gaussian"]),
          ljx.create_q_critic("ensemble", 0, META, tiny.CRITIC_CONFIGS["ensemble"]))


@st.composite
def bad_agent_config(draw):
  """(agent type, config, whether to build the dataclass directly, names)."""
  agent_type = draw(st.sampled_from(sorted(AGENT_FIELDS)))
  cls, fields = AGENT_FIELDS[agent_type]
  case = draw(st.sampled_from(["field"] * 5 + ["action_optimization", "unknown_key",
                                               "not_a_config"]))
  if case == "field":
    field = draw(st.sampled_from(sorted(fields)))
    config, names = {field: draw(fuzzing.bad_value(fields[field]))}, [field]
  elif case == "action_optimization" and agent_type != "imitation":
    config = {"action_optimization": draw(st.one_of(
        st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2),
        st.just(bc.ImitationConfig())))}
    names = ["action_optimization"]
  elif case == "not_a_config":
    config = draw(st.one_of(st.integers(), st.text(max_size=4), st.lists(st.integers(),
                                                                         max_size=2)))
    names = ["config"]
  else:
    key = draw(fuzzing.identifier([f.name for f in dataclasses.fields(cls)]))
    config, names = {key: 0}, [key]
  direct = isinstance(config, dict) and not set(config) - {
      f.name for f in dataclasses.fields(cls)} and draw(st.booleans())
  return agent_type, config, direct, names


@fuzzing.fuzz_settings(150)
@given(case=bad_agent_config())
def test_bad_agent_config_is_rejected(case, parts):
  agent_type, config, direct, names = case
  policy, critic = parts
  if direct:
    cls = AGENT_FIELDS[agent_type][0]
    fuzzing.assert_rejected(lambda: cls(**config), names)
  else:
    fuzzing.assert_rejected(
        lambda: ljx.create_agent(agent_type, policy, critic, 0, config), names)


AO_FIELDS = {"num_samples": INT(1), "top_k": INT(1), "num_steps": INT(0),
             "step_size": NUM(0), "q_reduce": ("choice", ("mean", "min")),
             "temperature": NUM(0, low_open=True), "replace_worst_with_dataset": ("bool",)}


@st.composite
def bad_action_optimization(draw):
  case = draw(st.sampled_from(["field", "field", "k_above_n", "unknown_key"]))
  if case == "field":
    field = draw(st.sampled_from(sorted(AO_FIELDS)))
    value = draw(fuzzing.bad_value(AO_FIELDS[field]))
    # top_k's default (10) would exceed a small valid num_samples: keep it valid.
    return ({field: value, "top_k": 1} if field == "num_samples" else {field: value}), [field]
  if case == "k_above_n":
    n = draw(st.integers(1, 64))
    return {"num_samples": n, "top_k": draw(st.integers(n + 1, 200))}, ["top_k"]
  key = draw(fuzzing.identifier(list(AO_FIELDS)))
  return {key: 1}, [key]


@fuzzing.fuzz_settings(100)
@given(case=bad_action_optimization(),
       agent_type=st.sampled_from(["iql", "calql", "offline_rl", "actor_critic", "direct"]))
def test_bad_action_optimization_config_is_rejected(case, agent_type, parts):
  config, names = case
  policy, critic = parts
  if agent_type == "direct":
    fuzzing.assert_rejected(lambda: config_utils.make_config(
        action_optimization.ActionOptimizationConfig, config), names)
    return
  fuzzing.assert_rejected(lambda: ljx.create_agent(
      agent_type, policy, critic, 0, {"action_optimization": config}), names)


def test_numpy_scalars_and_sequences_are_still_accepted():
  """Validation must not refuse values that only look unusual."""
  cfg = ljx.create_policy_model("gaussian", 0, META, {
      "hidden_sizes": np.array([4, 4]), "log_std_min": np.float32(-3.0)}).config
  assert cfg.hidden_sizes == (4, 4)
  ao = action_optimization.ActionOptimizationConfig(num_samples=np.int64(4), top_k=2,
                                                    step_size=np.float32(0.1))
  assert ao.num_samples == 4
  assert parl.PARLConfig(discount=np.float64(0.5), action_optimization={"top_k": 2}
                         ).action_optimization.top_k == 2
  assert parl.ActorCriticConfig(online_fraction=1).online_fraction == 1
