"""`benchmarks.train_loop --quick`: every updates_per_call value runs its
rounds and the table gives each rate and its ratio to one update per call."""

from benchmarks import train_loop


def test_quick_train_loop_benchmark_prints_rates_and_ratios(capsys):
  # 12 s of budget per run: compiling takes part of it, tiny updates the rest
  # (the table's format is under test here, not the machine's speed).
  rates = train_loop.main(["--quick", "--updates_per_call", "4", "--seconds", "12",
                           "--rounds", "1", "--log_every", "8"])
  assert sorted(rates) == [1, 4]  # One update per call is always the baseline.
  assert all(len(r) == 1 and r[0] > 0 for r in rates.values())
  out = capsys.readouterr().out
  assert "updates_per_call=1 " in out and "updates_per_call=4 " in out
  assert "x1.00" in out and "timed after the first 8 updates" in out
