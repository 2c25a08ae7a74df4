"""`benchmarks.ogbench --quick`: regenerate, relabel, train both methods with
their packaged configs, evaluate, write the table and CSV (tiny sizes)."""

import csv
import json
import os

import numpy as np
import pytest


from benchmarks import ogbench as benchmark  # noqa: E402


def test_quick_mode_writes_the_table_with_budgets(tmp_path):
  workdir, results_dir = str(tmp_path / "work"), str(tmp_path / "results")
  args = ["--quick", "--datasets=puzzle-3x3-play", f"--workdir={workdir}",
          f"--results_dir={results_dir}"]
  results = benchmark.main(args)
  assert [r["method"] for r in results] == ["bc", "iql"]
  for r in results:
    assert r["updates"] == 4 and r["eval_episodes"] == 2 and 0.0 <= r["success"] <= 1.0
    assert r["episodes"] == 2 and r["transitions"] == 2 * 39  # 40-step episodes
    assert r["train_seconds"] > 0 and r["eval_seconds"] > 0
    assert [point[0] for point in r["curve"]] == [0, 2, 4]
    assert r["curve"][0][2] == 0.0 and r["curve"][-1][2] > 0  # seconds of updates
    assert all(-9 * 20 <= point[3] <= 0 for point in r["curve"])  # evaluation returns
    assert benchmark.return_over_updates(r)[-1] == (4, r["return"])
    assert r["update_seconds"] > 0 and r["max_updates"] == 4
    assert r["yardstick"] > 0  # The machine's speed, measured before the run.
    # Minus the unsolved subtasks per step (puzzle-3x3 task 4 has 9 buttons), <= 20 steps.
    assert -9 * 20 <= r["return"] <= 0
  table = open(os.path.join(results_dir, "ogbench.md")).read()
  assert "| puzzle-3x3-play | default | BC (Gaussian) |" in table
  assert "| 1 / 2 |" in table and "| 2 / 9 |" in table  # published BC and IQL
  assert f"| {results[0]['return']:.0f} | 2 ep, 78 tr" in table
  assert "| yardstick |" in table
  bc_row = next(line for line in table.splitlines() if "| BC (Gaussian) |" in line)
  assert f"| {results[0]['yardstick']:.0f} | 1 / 2 |" in bc_row
  with open(os.path.join(results_dir, "ogbench.csv")) as f:
    rows = list(csv.DictReader(f))
  assert [r["method"] for r in rows] == ["bc", "iql"]
  assert json.loads(rows[0]["curve"])[-1][0] == 4
  assert os.path.getsize(os.path.join(results_dir, "ogbench_curves.png")) > 10_000
  seconds, _, updates = benchmark.score_over_time(results[0])[-1]
  assert updates == 4 and seconds == results[0]["update_seconds"]
  # The CSV reads back as the runs it was written from.
  read = benchmark.read_results(os.path.join(results_dir, "ogbench.csv"))
  for field in ("dataset", "task", "method", "seed", "updates", "success", "return", "bindings",
                "curve", "update_seconds", "max_seconds", "yardstick"):
    assert [r[field] for r in read] == [r[field] for r in results], field
  # Cached: a second call trains nothing and reports the same.
  assert benchmark.main(args) == results


def test_merge_keeps_earlier_runs_and_replaces_repeated_ones():
  run = lambda method, seed, success: {"dataset": "scene-play", "task": 1, "method": method,
                                       "seed": seed, "success": success}
  earlier = [run("iql", 0, 0.1), run("parl", 0, 0.7), run("iql", 1, 0.6)]
  merged = benchmark.merge_results(earlier, [run("parl", 0, 0.5), run("parl", 2, 0.9)])
  assert [(r["method"], r["seed"], r["success"]) for r in merged] == [
      ("iql", 0, 0.1), ("parl", 0, 0.5), ("iql", 1, 0.6), ("parl", 2, 0.9)]


def test_report_row_gives_the_updates_of_every_seed(tmp_path):
  """Timed runs reach different update counts: the row spans them, not seed 0's."""
  def run(seed, updates):
    return {"dataset": "puzzle-3x3-play", "task": "default", "method": "iql", "seed": seed,
            "episodes": 1000, "transitions": 1_000_000, "data_fraction": 1.0,
            "updates": updates, "update_fraction": updates / 1e6, "success": 0.02 * seed,
            "return": -1700.0, "train_seconds": 9000.0, "eval_seconds": 60.0, "curve": []}
  table = benchmark.write_report([run(1, 677_937), run(0, 664_422)], str(tmp_path))
  row = next(line for line in table.splitlines() if "| IQL" in line)
  assert "| 664,422-677,937 (66.4%-67.8%) |" in row and "| 0, 2 |" in row
  table = benchmark.write_report([run(0, 500_000), run(1, 500_000)], str(tmp_path))
  assert "| 500,000 (50.0%) |" in table
  # Fractions that differ only below the printed precision are one figure, not "50.0%-50.0%".
  table = benchmark.write_report([run(0, 500_000), run(1, 500_040)], str(tmp_path))
  assert "| 500,000-500,040 (50.0%) |" in table
  # The yardstick spans the seeds' machines; a run that predates it is unknown ("—").
  runs = [{**run(0, 500_000), "yardstick": 1012.4}, {**run(1, 500_000), "yardstick": 774.0}]
  table = benchmark.write_report(runs, str(tmp_path))
  assert "| 9000 | 60 | 774-1012 | 2 / 9 |" in table
  table = benchmark.write_report([runs[0], run(1, 500_000)], str(tmp_path))
  assert "| 9000 | 60 | — | 2 / 9 |" in table


def test_every_method_names_a_packaged_config_bindings_and_a_label():
  from pa_rl import gin_registration  # pylint: disable=g-import-not-at-top
  for method, (config, bindings) in benchmark.METHODS.items():
    assert os.path.exists(os.path.join(gin_registration.CONFIG_DIR, config + ".gin")), method
    assert isinstance(bindings, list) and all(" = " in b for b in bindings), method
    assert method in benchmark.LABELS


def test_score_over_time_estimates_seconds_for_curves_without_them():
  result = {"curve": [[0, 0.0], [5000, 0.5]], "updates": 10000, "update_seconds": 200.0,
            "train_seconds": 250.0, "success": 0.8}
  assert benchmark.score_over_time(result) == [(0.0, 0.0, 0), (100.0, 50.0, 5000),
                                               (200.0, 80.0, 10000)]
  result["curve"].append([10000, 0.6, 199.0])  # The final evaluation replaces the curve's.
  assert benchmark.score_over_time(result)[-1] == (200.0, 80.0, 10000)


def test_mean_curve_averages_seeds_up_to_the_shortest_run():
  def run(curve, updates, seconds, success):
    return {"curve": curve, "updates": updates, "update_seconds": seconds,
            "train_seconds": seconds, "success": success}
  short = run([[0, 0.0, 0.0], [5000, 0.4, 100.0]], 10000, 200.0, 0.8)
  long = run([[0, 0.2, 0.0], [6000, 0.6, 150.0]], 12000, 300.0, 1.0)
  x, mean = benchmark.mean_curve([short, long], "seconds")
  # Points of both runs up to 200 s; the long run is interpolated at 100 and 200 s.
  np.testing.assert_allclose(x, [0.0, 100.0, 150.0, 200.0])
  np.testing.assert_allclose(
      mean, [10.0, (40 + 46.666667) / 2, (60 + 60) / 2, (80 + 73.333333) / 2], rtol=1e-6)
  x, mean = benchmark.mean_curve([short, long], "updates")
  np.testing.assert_allclose(x, [0, 5000, 6000, 10000])
  np.testing.assert_allclose(mean[-1], (80 + 86.666667) / 2, rtol=1e-6)


def test_return_over_updates_ends_with_the_final_evaluation():
  result = {"curve": [[0, 0.0, 0.0, -2500.0], [5000, 0.0, 90.0, -2100.0],
                      [10000, 0.0, 180.0, -1900.0]], "updates": 10000, "return": -1800.0}
  assert benchmark.return_over_updates(result) == [(0, -2500.0), (5000, -2100.0),
                                                   (10000, -1800.0)]
  result["curve"] = [point[:3] for point in result["curve"]]  # Recorded before returns.
  assert benchmark.return_over_updates(result) == [(10000, -1800.0)]
  assert benchmark.return_over_updates({**result, "return": None}) == []


def test_mean_curve_has_no_mean_where_a_seed_has_only_its_final_evaluation():
  curve = {"curve": [[0, 0.0, 0.0, -2500.0], [5000, 0.2, 100.0, -2000.0]], "updates": 10000,
           "update_seconds": 200.0, "train_seconds": 200.0, "success": 0.4, "return": -1500.0}
  final = {**curve, "curve": [], "updates": 12000, "return": -1700.0}
  for value in ("success", "return"):
    x, mean = benchmark.mean_curve([curve, final], "updates", value)
    assert len(x) == 0 and len(mean) == 0, value
  x, mean = benchmark.mean_curve([curve, {**curve, "return": -1900.0}], "updates", "return")
  np.testing.assert_allclose(x, [0, 5000, 10000])
  np.testing.assert_allclose(mean, [-2500.0, -2000.0, -1700.0])
  with pytest.raises(ValueError, match="against updates only"):
    benchmark.mean_curve([curve], "seconds", "return")


def _plotted_figure(results, tmp_path, monkeypatch):
  """The figure `_plot_curves` draws for ``results``, kept open to read."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  figures = []
  monkeypatch.setattr(plt, "close", figures.append)
  benchmark._plot_curves(results, str(tmp_path / "curves.png"))  # pylint: disable=protected-access
  (figure,) = figures
  return figure


def test_curves_draw_each_method_in_one_colour_across_panels(tmp_path, monkeypatch):
  import matplotlib  # pylint: disable=g-import-not-at-top
  def run(dataset, method):
    return {"dataset": dataset, "task": "default", "method": method, "seed": 0,
            "curve": [[0, 0.0, 0.0, -2500.0], [5000, 0.2, 100.0, -2000.0]],
            "updates": 10000, "update_seconds": 200.0, "train_seconds": 200.0,
            "success": 0.4, "return": -1500.0}
  # IQL comes second in the first panel and first in the second.
  results = [run("scene-play", "bc"), run("scene-play", "iql"), run("puzzle-3x3-play", "iql"),
             run("puzzle-3x3-play", "parl")]
  figure = _plotted_figure(results, tmp_path, monkeypatch)
  colours = {}
  for ax in figure.axes:
    for line in ax.get_lines():
      if not line.get_label().startswith("_"):  # A method's mean line.
        colours.setdefault(line.get_label(), set()).add(matplotlib.colors.to_hex(line.get_color()))
  iql = [label for label in colours if label.startswith(benchmark.LABELS["iql"])]
  assert len(colours) == 3 and len(iql) == 1, colours
  assert all(len(c) == 1 for c in colours.values()), colours
  assert len(set.union(*colours.values())) == 3  # Three methods, three colours.


def test_curves_seconds_axis_starts_at_zero_when_runs_share_one_budget(tmp_path, monkeypatch):
  # Final evaluations only, every run at the end of the same 1,200 s budget.
  results = [{"dataset": "scene-play", "task": "default", "method": method, "seed": seed,
              "curve": [], "updates": updates, "update_seconds": 1200.0 + seed / 100,
              "train_seconds": 1215.0, "success": 0.0, "return": -1500.0}
             for method, updates in (("bc", 500000), ("parl", 70000)) for seed in range(3)]
  seconds_axis = _plotted_figure(results, tmp_path, monkeypatch).axes[0]
  points = [x for line in seconds_axis.get_lines() for x in line.get_xdata()]
  assert len(points) == 6 and min(points) >= 1200.0
  left, right = seconds_axis.get_xlim()
  assert left == 0 and right > 1.04 * max(points), (left, right)
