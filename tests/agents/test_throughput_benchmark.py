"""The throughput benchmark runs (quick sizes, one case) and prints its table."""

from benchmarks import throughput


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
