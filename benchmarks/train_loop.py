r"""Updates/s of `train_offline` itself at several ``updates_per_call``.

A packaged gin config trains on a dataset for a fixed budget of update
seconds (``max_seconds``; no evaluation) once per ``updates_per_call`` value,
the values taking turns for ``--rounds`` rounds in one process, so load
changes hit every value alike. Each run is timed from its ``train.csv`` rows
after the first (that window holds the compile): the loop's own overhead
(logging, the budget's clock, dispatch) is in the figure, as it is in a
training run. The table gives the mean updates/s and the ratio to
``updates_per_call = 1``.

  python -m benchmarks.train_loop --dataset_path DIR [--gin_file F] \
      [--updates_per_call 1,10] [--seconds 60] [--rounds 3] [--log_every 100] \
      [--binding B ...]

``--quick``: a tiny generated dataset and networks (what the test runs).
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402


def run_once(gin_file: str, bindings: list[str], dataset_path: str, updates_per_call: int,
             seconds: float, log_every: int, workdir: str) -> float:
  """Updates/s of one budgeted `train_offline` run, from its ``train.csv``
  rows (each row's window rate) after the first row, whose window holds the
  compile."""
  import gin  # pylint: disable=g-import-not-at-top
  from pa_rl import gin_registration  # pylint: disable=g-import-not-at-top
  from pa_rl import metrics_writer  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  gin_registration.parse([gin_file], [
      *bindings, f"train_offline.dataset_path = '{dataset_path}'",
      "train_offline.num_steps = 10_000_000", f"train_offline.max_seconds = {seconds}",
      "train_offline.eval_every = 0", f"train_offline.log_every = {log_every}",
      "train_offline.checkpoint_every = 10_000_000",
      f"train_offline.updates_per_call = {updates_per_call}"])
  gin_registration.train_offline(workdir=workdir)
  gin.clear_config()
  rows = sorted(metrics_writer.read_csv(os.path.join(workdir, "train.csv")),
                key=lambda r: r["step"])
  if len(rows) < 2:
    raise ValueError(f"{seconds:g} s gave {len(rows)} log row(s) of {log_every} updates; "
                     "raise --seconds to time more than the compiling window")
  updates = [b["step"] - a["step"] for a, b in zip(rows, rows[1:])]
  times = [n / r["train/steps_per_sec"] for n, r in zip(updates, rows[1:])]
  return sum(updates) / sum(times)


def main(argv=None) -> dict[int, list[float]]:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--dataset_path", default=None)
  parser.add_argument("--gin_file", default="parl/diffusion_iql_ogbench.gin")
  parser.add_argument("--binding", action="append", default=[])
  parser.add_argument("--updates_per_call", default="1,10")
  parser.add_argument("--seconds", type=float, default=60.0)
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--log_every", type=int, default=100,
                      help="updates per timed window (rounded up to a multiple of the values)")
  parser.add_argument("--quick", action="store_true")
  args = parser.parse_args(argv)
  values = [int(v) for v in args.updates_per_call.split(",")]
  if 1 not in values:
    values = [1, *values]
  with tempfile.TemporaryDirectory() as tmp:
    bindings, dataset_path = list(args.binding), args.dataset_path
    if args.quick:
      from pa_rl.datasets import collection  # pylint: disable=g-import-not-at-top
      dataset_path = os.path.join(tmp, "data")
      collection.collect("two_routes", dataset_path, policy="mixed", num_episodes=4, seed=0)
      bindings += ["DiffusionPolicyConfig.hidden_dim = 8",
                   "DiffusionPolicyConfig.num_blocks = 1",
                   "DiffusionPolicyConfig.time_dim = 4",
                   "EnsembleCriticConfig.hidden_sizes = (8,)",
                   "EnsembleCriticConfig.value_hidden_sizes = (8,)",
                   "PARLConfig.batch_size = 8", "ActionOptimizationConfig.num_samples = 2"]
    if not dataset_path:
      parser.error("--dataset_path is required (or --quick)")
    # Log rows end at multiples of every value's calls.
    lcm = int(np.lcm.reduce(values))
    log_every = lcm * max(1, -(-args.log_every // lcm))
    rates: dict[int, list[float]] = {v: [] for v in values}
    for round_ in range(args.rounds):
      for value in values:
        rates[value].append(run_once(args.gin_file, bindings, dataset_path, value,
                                     args.seconds, log_every,
                                     os.path.join(tmp, f"run_{value}_{round_}")))
  base = np.mean(rates[1])
  print(f"train_offline updates/s ({args.gin_file}; {args.seconds:g} s of updates per run, "
        f"timed after the first {log_every} updates (they compile); {args.rounds} rounds; "
        "mean, min-max, ratio to 1 per call)")
  for value in values:
    r = rates[value]
    print(f"  updates_per_call={value:<4d} {np.mean(r):8.2f}  ({min(r):.2f}-{max(r):.2f})  "
          f"x{np.mean(r) / base:.2f}")
  return rates


if __name__ == "__main__":
  main()
