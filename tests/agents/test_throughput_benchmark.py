"""The throughput benchmark runs (quick sizes, one case) and prints its table."""

import gin
import numpy as np

from benchmarks import throughput
from pa_rl import config_utils
from pa_rl import gin_registration
from pa_rl.networks import configs


def test_quick_throughput_benchmark_prints_ratios(capsys):
  throughput.main(["--quick", "--only", "BC (gaussian)"])
  out = capsys.readouterr().out
  assert "yardstick (256x256 MLP adam step)" in out
  assert "BC (gaussian)" in out and "fused x4" in out
  assert "OfflineDataset.sample(256)" in out
  assert "Cal-QL" not in out  # --only filtered the other cases.


def test_quick_throughput_benchmark_has_the_flow_rows(capsys):
  throughput.main(["--quick", "--only", "BC (flow"])
  out = capsys.readouterr().out
  assert "BC (flow, 10 Euler steps)" in out and "BC (gaussian)" not in out
  # The PA-RL flow rows (compiling them takes a minute; the cases are checked).
  cases = throughput._cases(throughput._sizes(quick=True))  # pylint: disable=protected-access
  ten, five = (cases[f"PA-RL (flow, {k} Euler steps, Cal-QL)"] for k in (10, 5))
  assert ten[0] == "flow" and five[0] == ("flow", {"num_flow_steps": 5})
  assert throughput._policy_spec(throughput._sizes(quick=False), five[0]) == (  # pylint: disable=protected-access
      "flow", {"num_flow_steps": 5})


def test_ogbench_rows_have_the_presets_sizes():
  """The "OGBench:" preset rows time the networks the packaged presets bind:
  every field a preset binds on its policy and critic configs has that value
  in the row's config."""
  sizes = throughput._sizes(quick=False)  # pylint: disable=protected-access
  cases = throughput._cases(sizes)  # pylint: disable=protected-access
  presets = {"OGBench: PA-RL preset (diffusion 3x128)": (
                 "parl/diffusion_iql_ogbench.gin", configs.DiffusionPolicyConfig),
             "OGBench: PA-RL AR preset (transformer 2x64)": (
                 "parl/autoregressive_iql_ogbench.gin", configs.AutoregressivePolicyConfig)}
  try:
    for name, (preset, policy_class) in presets.items():
      gin.clear_config()
      gin_registration.parse([preset], finalize=False)
      _, policy_fields = throughput._policy_spec(sizes, cases[name][0])  # pylint: disable=protected-access
      for config_class, fields in ((policy_class, policy_fields),
                                   (configs.EnsembleCriticConfig, cases[name][1])):
        bound = gin.get_bindings(f"networks.{config_class.__name__}")
        assert bound, (preset, config_class.__name__)
        row = config_utils.make_config(config_class, fields)
        for field, value in bound.items():
          assert tuple(np.atleast_1d(getattr(row, field))) == tuple(np.atleast_1d(value)), (
              name, field)
  finally:
    gin.clear_config()
