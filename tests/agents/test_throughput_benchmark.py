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
  throughput.main(["--quick", "--only", "flow, 10"])
  out = capsys.readouterr().out
  assert "BC (flow, 10 Euler steps)" in out
  assert "PA-RL (flow, 10 Euler steps, Cal-QL)" in out and "phase: action_optimization" in out
  assert "act() latency, 1 observation" in out
  assert "diffusion" not in out.split("(ratio column")[1]
