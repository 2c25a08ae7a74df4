"""`benchmarks.learning --quick`: the whole pipeline (data, every method,
references, online fine-tuning, table, CSV, plot) with tiny sizes."""

import csv
import json
import math
import os

import pytest

from benchmarks import learning


def test_quick_mode_writes_a_complete_table(tmp_path):
  workdir, results = str(tmp_path / "work"), str(tmp_path / "results")
  summary = learning.main(["--quick", "--task=two_routes", "--seeds=0", f"--workdir={workdir}",
                           f"--results_dir={results}"])
  assert list(summary) == list(learning.METHODS)  # every method, in table order

  with open(os.path.join(results, "two_routes.csv")) as f:
    rows = list(csv.DictReader(f))
  assert sorted(r["method"] for r in rows) == sorted(learning.METHODS)
  for row in rows:
    assert 0.0 <= float(row["success"]) <= 1.0
    # two_routes: the random policy never passes the obstacle, the expert always does,
    # so the normalized score is the success rate in percent.
    assert float(row["random_success"]) == 0.0
    assert float(row["expert_success"]) == 1.0
    assert abs(float(row["score"]) - 100 * float(row["success"])) < 1e-6
    assert 0.0 < float(row["data_success"]) < 1.0

  table = open(os.path.join(results, "two_routes.md")).read()
  for method in learning.METHODS:
    assert f"| {learning.LABELS[method]} |" in table
  assert "± " in table and "scripted expert 100.0%" in table
  with open(os.path.join(results, "two_routes_curves.png"), "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"

  # Cached per-run results: a second call trains nothing and reports the same.
  again = learning.main(["--quick", "--task=two_routes", "--seeds=0", f"--workdir={workdir}",
                         f"--results_dir={results}"])
  assert again == summary

  # The CSV keeps every run whole (curves included), so a table over more seeds
  # can be made after the cached runs are gone: seed 1 of one method, joined
  # with the seed-0 CSV, gives all seed-0 rows plus both seeds of that method.
  previous = learning.read_csv_results(learning.make_task("two_routes", quick=True),
                                       os.path.join(results, "two_routes.csv"))
  cached = json.load(open(os.path.join(workdir, "gaussian_bc_seed0.json")))
  (row,) = [r for r in previous if r["method"] == "gaussian_bc"]
  for key in ("seed", "updates", "success", "score", "curve", "data_success"):
    assert row[key] == cached[key], key
  (online,) = [r for r in previous if r["method"] == "parl_diffusion_online"]
  assert online["online_curve"] and online["updates"] == "+1 episodes"
  more = str(tmp_path / "more")
  joined = learning.main(["--quick", "--task=two_routes", "--seeds=1", "--methods=gaussian_bc",
                          f"--workdir={tmp_path / 'work1'}", f"--results_dir={more}",
                          f"--previous_csv={os.path.join(results, 'two_routes.csv')}"])
  assert list(joined) == list(learning.METHODS)
  assert joined["gaussian_bc"]["seeds"] == 2 and joined["iql"]["seeds"] == 1
  with open(os.path.join(more, "two_routes.csv")) as f:
    seeds = [(r["method"], r["seed"]) for r in csv.DictReader(f)]
  assert len(seeds) == len(learning.METHODS) + 1 and ("gaussian_bc", "1") in seeds
  # Another task's CSV (a different metric) is refused, naming the columns.
  with pytest.raises(ValueError, match="return"):
    learning.read_csv_results(learning.make_task("halfcheetah_medium", quick=True),
                              os.path.join(results, "two_routes.csv"))

  # Another online budget is another run: the cached 1-episode run is not reused.
  longer = learning.main(["--quick", "--task=two_routes", "--seeds=0", "--online_episodes=2",
                          "--methods=parl_diffusion_online", f"--workdir={workdir}",
                          f"--results_dir={tmp_path / 'longer'}"])
  assert list(longer) == ["parl_diffusion_online"]
  rerun = json.load(open(os.path.join(workdir, "parl_diffusion_online_seed0.json")))
  assert rerun["updates"] == "+2 episodes" and len(rerun["online_curve"]) == 2
  with pytest.raises(SystemExit, match="online_episodes"):
    learning.main(["--quick", "--task=two_routes", "--online_episodes=0",
                   f"--workdir={workdir}"])


def test_quick_locomotion_trains_its_own_behaviour_policies(tmp_path):
  workdir, results = str(tmp_path / "work" / "hc"), str(tmp_path / "results")
  summary = learning.main(["--quick", "--task=halfcheetah_medium", "--seeds=0",
                           "--methods=gaussian_bc", f"--workdir={workdir}",
                           f"--results_dir={results}"])
  assert list(summary) == ["gaussian_bc"]
  # SAC ran once, beside the task's workdir: a snapshot per 100 steps, and
  # the episodes played before each.
  sac = json.load(open(os.path.join(tmp_path, "work", "HalfCheetah-v5_T100_sac_300",
                                    "sac.json")))
  assert [s["env_steps"] for s in sac["snapshots"]] == [100, 200, 300]
  assert len(sac["train_curve"]) == 3 and sac["final"] == sac["snapshots"][-1]
  assert sac["medium"] in sac["snapshots"][:-1]
  with open(os.path.join(results, "halfcheetah_medium.csv")) as f:
    (row,) = list(csv.DictReader(f))
  # Returns, not success rates; 0 = random, 100 = the final SAC policy.
  ret, rand, expert = (float(row[k]) for k in ("return", "random_return", "expert_return"))
  if expert > rand:
    assert abs(float(row["score"]) - 100 * (ret - rand) / (expert - rand)) < 1e-6
  else:
    # 300 steps of SAC need not beat random actions (it varies with the CPU's
    # float kernels): no scale to normalize by, so no score.
    assert math.isnan(float(row["score"]))
  assert learning.normalize(-50.0, {"random": -100.0, "expert": 100.0}) == 25.0
  assert math.isnan(learning.normalize(-50.0, {"random": -100.0, "expert": -100.0}))
  table = open(os.path.join(results, "halfcheetah_medium.md")).read()
  assert "| method | updates | return |" in table and "final SAC policy" in table
  # medium: the medium snapshot's own episodes (quick: 12 of 100 steps).
  data = json.load(open(os.path.join(workdir, "data", "medium.json")))
  assert data["episodes"] == 12 and data["transitions"] == 1200


def test_quick_pointmaze_segments_data(tmp_path):
  workdir, results = str(tmp_path / "work"), str(tmp_path / "results")
  summary = learning.main(["--quick", "--task=pointmaze_medium_segments", "--seeds=0",
                           "--methods=gaussian_bc", f"--workdir={workdir}",
                           f"--results_dir={results}"])
  assert list(summary) == ["gaussian_bc"]
  stats = json.load(open(os.path.join(workdir, "data", "seed0_0.json")))
  assert stats["episodes"] == 12 and 0.0 < stats["success_rate"] <= 1.0
  table = open(os.path.join(results, "pointmaze_medium_segments.md")).read()
  assert "20% expert / 30% noisy expert / 50% random goal segments (noise std 0.5)" in table
  full = learning.make_task("pointmaze_medium_segments", quick=False)
  assert full.data["mixture"] == (0.2, 0.3, 0.0, 0.5) and full.online_episodes == 40
