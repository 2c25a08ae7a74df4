"""The exact press-level solution of OGBench's puzzle tasks (benchmarks/puzzle_horizon.py)."""

import numpy as np
import pytest

from benchmarks import puzzle_horizon as ph

# puzzle-3x3's default task (task 4), as OGBench defines it.
TASK4_INIT = [0, 1, 0, 1, 0, 1, 0, 1, 0]
ALL_ON = [1] * 9


def test_a_press_toggles_the_button_and_its_neighbours_and_twice_undoes_it():
  nxt = ph.press_table(3, 3)
  toggled = [bin(int(nxt[0, i])).count("1") for i in range(9)]
  assert toggled == [3, 4, 3, 4, 5, 4, 3, 4, 3]  # corners, edges, centre
  states = np.arange(512)
  for i in range(9):
    np.testing.assert_array_equal(nxt[nxt[states, i], i], states)


def test_the_default_task_needs_every_button_pressed():
  assert ph.fewest_presses(3, 3, TASK4_INIT, ALL_ON) == 9
  assert ph.fewest_presses(3, 3, ALL_ON, ALL_ON) == 0
  one_press = [int(b) for b in np.binary_repr(int(ph.press_table(3, 3)[0, 4]), 9)[::-1]]
  assert ph.fewest_presses(3, 3, [0] * 9, one_press) == 1


def test_a_short_discount_stops_one_button_short_and_a_long_one_finishes():
  short = ph.optimal_plan(3, 3, TASK4_INIT, ALL_ON, 0.995, steps_per_press=33)
  long = ph.optimal_plan(3, 3, TASK4_INIT, ALL_ON, 0.999, steps_per_press=33)
  assert short["wrong_at_end"] == 1 and short["value"] > short["finish_value"]
  assert long["wrong_at_end"] == 0 and long["presses"] == 9
  assert long["value"] == pytest.approx(long["finish_value"])
  for plan in (short, long):
    assert plan["wrong_at_start"] == 5
    assert plan["stop_value"] < plan["finish_value"] <= plan["value"] + 1e-9
  # Quicker presses make finishing pay at the shorter discount too.
  quick = ph.optimal_plan(3, 3, TASK4_INIT, ALL_ON, 0.995, steps_per_press=10)
  assert quick["wrong_at_end"] == 0


def test_a_finishing_plan_is_worth_what_its_steps_cost():
  # One press away from the goal with 1 wrong (press the centre of a 1x1).
  plan = ph.optimal_plan(1, 1, [0], [1], 0.9, steps_per_press=2)
  assert plan["presses"] == 1 and plan["wrong_at_end"] == 0
  assert plan["value"] == pytest.approx(-(1 + 0.9))


def test_bad_arguments_are_named():
  with pytest.raises(ValueError, match="discount"):
    ph.optimal_plan(3, 3, TASK4_INIT, ALL_ON, 1.0, steps_per_press=33)
  with pytest.raises(ValueError, match="steps_per_press"):
    ph.optimal_plan(3, 3, TASK4_INIT, ALL_ON, 0.99, steps_per_press=0)
  with pytest.raises(ValueError, match="9 button states"):
    ph.optimal_plan(3, 3, TASK4_INIT[:4], ALL_ON, 0.99, steps_per_press=33)


def test_steps_per_press_is_the_median_gap_between_reward_changes(monkeypatch):
  reward = np.repeat([-3.0, -2.0, -3.0, -1.0], [4, 5, 5, 3])
  monkeypatch.setattr("pa_rl.datasets.rlds_io.load_episodes",
                      lambda path: ([{"steps": {"reward": reward}}], {}))
  assert ph.steps_per_press_in_data("unused") == 5.0
  monkeypatch.setattr("pa_rl.datasets.rlds_io.load_episodes",
                      lambda path: ([{"steps": {"reward": np.zeros(10)}}], {}))
  with pytest.raises(ValueError, match="no reward changes"):
    ph.steps_per_press_in_data("flat")


def test_main_reads_the_task_from_ogbench(capsys):
  plans = ph.main(["--task", "4", "--discounts", "0.995,0.999"])
  assert [p["wrong_at_end"] for p in plans] == [1, 0]
  out = capsys.readouterr().out
  assert "the fewest presses that finish: 9" in out and "stops with 1 wrong" in out
