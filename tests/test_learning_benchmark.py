"""`benchmarks.learning --quick`: the whole pipeline (data, every method,
references, online fine-tuning, table, CSV, plot) with tiny sizes."""

import csv
import os

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
