"""`benchmarks.time_to_score --quick`: every method trains under the same
update-time budget, evaluated along the way; the table, CSV and curves."""

import csv
import json
import os

from benchmarks import time_to_score as benchmark


def test_quick_mode_writes_curves_against_update_seconds(tmp_path):
  workdir, results_dir = str(tmp_path / "work"), str(tmp_path / "results")
  results = benchmark.main(["--quick", "--seeds=0", "--methods=parl,parl_econ",
                            f"--workdir={workdir}", f"--results_dir={results_dir}"])
  assert [r["method"] for r in results] == ["parl", "parl_econ"]
  for r in results:
    seconds = [point[0] for point in r["curve"]]
    assert seconds[0] == 0.0 and seconds == sorted(seconds) and seconds[-1] >= 0.5
    assert r["updates"] > 0 and r["updates_per_second"] > 0
    assert r["final"] == r["curve"][-1][2]
  table = open(os.path.join(results_dir, "time_to_score_two_routes.md")).read()
  assert "| PA-RL, economical preset (IQL critic, advantage-weighted imitation) |" in table
  with open(os.path.join(results_dir, "time_to_score_two_routes.csv")) as f:
    rows = list(csv.DictReader(f))
  assert [json.loads(r["curve"])[0][0] for r in rows] == [0.0, 0.0]
  assert os.path.getsize(os.path.join(results_dir, "time_to_score_two_routes_curves.png")) > 5000


def test_time_to_target_is_the_first_evaluation_at_or_above_it():
  curve = [(0.0, 0, 0.0), (10.0, 100, 50.0), (20.0, 200, 40.0), (30.0, 300, 90.0)]
  assert benchmark.time_to(curve, 45.0) == 10.0
  assert benchmark.time_to(curve, 90.0) == 30.0
  assert benchmark.time_to(curve, 95.0) is None
