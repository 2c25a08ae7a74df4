"""Fuzz: gin bindings as the binaries parse them (`pa_rl.gin_registration`).

Unknown configurables or parameters, malformed text and undefined macros stop at
parsing (with finalize=True, as in the binaries) with a
`GinConfigError` naming the binding; well-formed bindings with bad values stop
when the config is built (before any runner starts) with the config's own
ValueError/TypeError naming the field.

Generated cases (hypothesis, derandomized):
  test_bad_gin_binding_is_rejected   150
"""

import math

import gin
from hypothesis import given
from hypothesis import strategies as st
import pytest

from pa_rl import gin_registration
from tests.reliability import fuzzing
from tests.reliability import test_fuzz_configs as tables

# gin name -> field table (the same tables the config fuzzers use).
CONFIGURABLES = {
    "networks.GaussianPolicyConfig": tables.POLICY_FIELDS["gaussian"],
    "networks.DiffusionPolicyConfig": tables.POLICY_FIELDS["diffusion"],
    "networks.AutoregressivePolicyConfig": tables.POLICY_FIELDS["autoregressive"],
    "networks.EnsembleCriticConfig": tables.CRITIC_FIELDS["ensemble"],
    "networks.DistributionalCriticConfig": tables.CRITIC_FIELDS["distributional"],
    "agents.ImitationConfig": tables.AGENT_FIELDS["imitation"][1],
    "agents.IQLConfig": tables.AGENT_FIELDS["iql"][1],
    "agents.CalQLConfig": tables.AGENT_FIELDS["calql"][1],
    "agents.PARLConfig": tables.AGENT_FIELDS["offline_rl"][1],
    "agents.ActorCriticConfig": tables.AGENT_FIELDS["actor_critic"][1],
    "agents.ActionOptimizationConfig": tables.AO_FIELDS,
}
RUNNERS = ("runners.train_offline", "runners.finetune_online", "runners.evaluate")


def _gin_literal(value) -> bool:
  """Whether ``repr(value)`` is a literal gin parses back to ``value``."""
  if isinstance(value, float):
    return math.isfinite(value)
  if isinstance(value, str):
    return value.isascii() and value.isalnum()
  if isinstance(value, (list, tuple)):
    return all(_gin_literal(v) for v in value)
  if isinstance(value, dict):
    return all(_gin_literal(k) and _gin_literal(v) for k, v in value.items())
  return value is None or isinstance(value, (bool, int))


@st.composite
def bad_binding(draw):
  """(bindings, configurable to build or None, names)."""
  case = draw(st.sampled_from(["value"] * 4 + ["unknown_configurable", "unknown_parameter",
                                               "malformed"]))
  if case == "value":
    name = draw(st.sampled_from(sorted(CONFIGURABLES)))
    field = draw(st.sampled_from(sorted(CONFIGURABLES[name])))
    value = draw(fuzzing.bad_value(CONFIGURABLES[name][field]).filter(_gin_literal))
    binding = f"{name}.{field} = {value!r}"
    if name == "agents.ActionOptimizationConfig" and field == "num_samples":
      binding += f"\n{name}.top_k = 1"  # Keep the default top_k from being the error.
    return binding, name, [field]
  if case == "unknown_configurable":
    configurable = draw(fuzzing.identifier(
        ["train_offline", "finetune_online", "evaluate"] +
        [n.split(".")[1] for n in CONFIGURABLES]))
    module = draw(st.sampled_from(["", "networks.", "agents.", "runners."]))
    return f"{module}{configurable}.x = 1", None, [configurable]
  if case == "unknown_parameter":
    name = draw(st.sampled_from(sorted(CONFIGURABLES) + list(RUNNERS)))
    parameter = draw(fuzzing.identifier(list(CONFIGURABLES.get(name, ()))).filter(
        lambda p: p not in gin.get_configurable(name).__init__.__code__.co_varnames
        if name in CONFIGURABLES else True))
    if name in RUNNERS:
      import inspect  # pylint: disable=g-import-not-at-top
      fn = getattr(gin_registration, name.split(".")[1])
      if parameter in inspect.signature(fn).parameters:
        parameter += "_x"
    return f"{name}.{parameter} = 1", None, [parameter]
  text = draw(st.sampled_from([
      "networks.DiffusionPolicyConfig.hidden_dim = ",
      "networks.DiffusionPolicyConfig.hidden_dim == 3",
      "= 3", "@@@", "agents.PARLConfig.discount = (0.5", "agents.PARLConfig.discount = 0.5)",
      "agents.PARLConfig.discount = [1, 2", "agents.PARLConfig.tau = 'unterminated",
      "agents.PARLConfig.action_optimization = @agents.NoSuchConfig()",
      "networks.GaussianPolicyConfig.hidden_sizes = %UNDEFINED_MACRO",
      "include 'no/such/file.gin'",
  ]))
  if "%UNDEFINED_MACRO" in text:  # Found when the config is finalized.
    return text, None, ["invalid gin config in the gin config"]
  return text, None, [f"invalid gin config in --gin_bindings={text!r}"]


@pytest.fixture
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


@fuzzing.fuzz_settings(150)
@given(case=bad_binding())
def test_bad_gin_binding_is_rejected(case, clean_gin):
  del clean_gin
  bindings, configurable, names = case
  gin.clear_config()
  try:
    if configurable is None:
      fuzzing.assert_rejected(lambda: gin_registration.parse([], bindings.splitlines(),
                                                             finalize=True),
                              names, errors=(gin_registration.GinConfigError,))
    else:
      gin_registration.parse([], bindings.splitlines(), finalize=True)
      fuzzing.assert_rejected(lambda: gin.get_configurable(configurable)(), names)
  finally:
    gin.clear_config()


def test_a_good_binding_builds_its_config(clean_gin):
  del clean_gin
  gin_registration.parse([], ["networks.DiffusionPolicyConfig.hidden_dim = 7"], finalize=False)
  assert gin.get_configurable("networks.DiffusionPolicyConfig")().hidden_dim == 7
