r"""Time to score: success against seconds of updates, PA-RL's settings side by side.

On one of `benchmarks.learning`'s tasks (the same data, evaluation episodes and
normalization: 0 = uniform random actions, 100 = the scripted expert), each
method trains under the same wall-clock budget of update time and is
evaluated every ``--eval_every`` seconds of it (evaluation time not counted),
all in one process, methods interleaved per seed, so the machine's load
treats them alike. Methods:

- ``parl``: PA-RL with the task's preset (`pa_rl.agents.presets`: Cal-QL
  critic bootstrapping from optimized actions, the policy distilled on
  optimized actions every update), the library's reference behaviour;
- ``parl_cheap_target``: the same with ``distill_every=4`` and a TD target
  from one policy sample (``target_action_optimization`` N=1, T=0);
- ``parl_econ``: the economical preset (`presets.ECONOMICAL_PARL`): an IQL
  critic (in-sample V(s') targets, no action optimization in the update) and a
  policy that imitates the data with IQL's advantage weights; acting still
  takes the best of N policy samples under the critic;
- ``iql``: IQL with its Gaussian policy, for scale.

Writes ``<results_dir>/time_to_score_<task>.md`` / ``.csv`` /
``_curves.png``: per method and seed, the score at each evaluation and the
seconds of updates it took to first reach the target (``--target`` of the
``parl`` row's mean final score, or an absolute ``--target_score``).

  python -m benchmarks.time_to_score --task=two_routes --seeds=0,1,2
  taskset -c 1 python -m benchmarks.time_to_score --task=pointmaze_medium \
      --methods=parl --max_seconds=600 --eval_every=20 --episodes=20   # then the others
      # with --max_seconds=120 --merge_csv=<that run's CSV>: the README's table
  python -m benchmarks.time_to_score --quick     # seconds; checks the pipeline
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import time

import numpy as np

from benchmarks import learning
from pa_rl import file_utils

METHODS = ("parl", "parl_cheap_target", "parl_econ", "iql")
LABELS = {"parl": "PA-RL, task preset (Cal-QL, distill every update)",
          "parl_cheap_target": "PA-RL, distill every 4th update, 1-sample TD target",
          "parl_econ": "PA-RL, economical preset (IQL critic, advantage-weighted imitation)",
          "iql": "IQL (Gaussian)"}


def _agent(task, method: str, meta, seed: int):
  import pa_rl as ljx  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import presets  # pylint: disable=g-import-not-at-top
  if method == "iql":
    return learning.make_agent(task, "iql", meta, seed)
  p = task.presets
  rl = dict(p["rl"])
  critic_config = dict(p["critic"])
  if method == "parl_cheap_target":
    rl.update(distill_every=4, target_action_optimization={"num_samples": 1, "top_k": 1,
                                                           "num_steps": 0})
  elif method == "parl_econ":
    rl.update(presets.ECONOMICAL_PARL)
    critic_config["value_head"] = True
  policy = ljx.create_policy_model("diffusion", seed, meta, p["diffusion"])
  critic = ljx.create_q_critic("ensemble", seed + 1, meta, critic_config)
  return ljx.create_agent("diffusion_rl", policy, critic, seed + 2, rl)


def run(task, method: str, dataset, seed: int, refs, *, max_seconds: float,
        eval_every: float, episodes: int) -> dict:
  """Trains ``method`` for ``max_seconds`` of update time, evaluating every
  ``eval_every`` seconds of it; returns its curve [(seconds, updates, score)]."""
  import jax  # pylint: disable=g-import-not-at-top
  agent = _agent(task, method, dataset.shape_meta, seed)
  batch_size = agent.config.batch_size
  # Compile outside the clock: every method pays it once, and it is not learning.
  dataset, batch = dataset.sample(batch_size)
  compile_start = time.perf_counter()
  jax.block_until_ready(agent.functions.update(agent.state, batch))  # Result discarded.
  compile_seconds = time.perf_counter() - compile_start
  def score(agent) -> float:
    return learning.normalize(
        learning.success_rate(task, seed, learning.agent_actor(agent, seed), episodes), refs)

  seconds, updates, chunk = 0.0, 0, 10
  curve = [(0.0, 0, score(agent))]
  next_eval = eval_every
  while seconds < max_seconds:
    start = time.perf_counter()
    for _ in range(chunk):
      dataset, batch = dataset.sample(batch_size)
      state, _ = agent.functions.update(agent.state, batch)
      agent = agent.replace(state=state)
    jax.block_until_ready(agent.state)
    seconds += time.perf_counter() - start
    updates += chunk
    if seconds >= next_eval or seconds >= max_seconds:
      curve.append((round(seconds, 2), updates, score(agent)))
      next_eval += eval_every
  return {"method": method, "seed": seed, "curve": curve, "updates": updates,
          "seconds": round(seconds, 2), "final": curve[-1][2],
          "updates_per_second": updates / seconds, "compile_seconds": round(compile_seconds, 1)}


def time_to(curve, target: float) -> float | None:
  """Seconds of updates at the first evaluation scoring >= ``target``."""
  for seconds, _, score in curve:
    if score >= target:
      return seconds
  return None


def _spacing(runs) -> float:
  """The median seconds of updates between a method's evaluations: the
  resolution of its time to target (runs merged from another report may have
  been evaluated at another spacing)."""
  gaps = [b[0] - a[0] for r in runs for a, b in zip(r["curve"][:-1], r["curve"][1:])]
  return float(np.median(gaps)) if gaps else float("nan")


def write_report(task_name: str, results: list[dict], results_dir: str, target_fraction: float,
                 budget: str, target_score: float | None = None) -> str:
  methods = list(dict.fromkeys(r["method"] for r in results))
  reference = [r["final"] for r in results if r["method"] == "parl"]
  if target_score is not None:
    target = target_score
    target_text = f"Target: a normalized score of {target:g}"
  else:
    target = target_fraction * float(np.mean(reference)) if reference else float("nan")
    target_text = (f"Target: {100 * target_fraction:.0f}% of the task preset's mean final "
                   f"score = {target:.1f}")
  lines = [f"# Time to score: {task_name}", "",
           f"Normalized score (0 = random actions, 100 = scripted expert) against seconds of "
           f"updates; {budget}. {target_text}. Produced by "
           "`python -m benchmarks.time_to_score`.",
           "", "| method | final score | per seed | update s (budget) | evaluated every | "
           "updates/s | updates | seconds to target (per seed) | median vs preset |",
           "|---|---|---|---|---|---|---|---|---|"]
  # Median seconds to the target per method; a seed that never reached it
  # counts as its whole budget, which makes the median a lower bound (">=").
  medians, censored = {}, {}
  for m in methods:
    runs = sorted((r for r in results if r["method"] == m), key=lambda r: r["seed"])
    times = [time_to(r["curve"], target) for r in runs]
    filled = sorted((r["seconds"], True) if t is None else (t, False)
                    for t, r in zip(times, runs))
    middle = filled[len(filled) // 2]  # The median of an odd count; the upper one else.
    medians[m], censored[m] = middle
  for m in methods:
    runs = sorted((r for r in results if r["method"] == m), key=lambda r: r["seed"])
    finals = [r["final"] for r in runs]
    times = [time_to(r["curve"], target) for r in runs]
    if "parl" not in medians or m == "parl" or censored[m] or medians[m] <= 0:
      ratio = "—"
    else:
      bound = ">= " if censored["parl"] else ""
      ratio = f"{bound}{medians['parl'] / medians[m]:.1f}x faster"
    lines.append(
        f"| {LABELS.get(m, m)} | {np.mean(finals):.1f} ± {np.std(finals):.1f} | "
        f"{', '.join(f'{f:.0f}' for f in finals)} | "
        f"{np.mean([r['seconds'] for r in runs]):.0f} | {_spacing(runs):.0f} s | "
        f"{np.mean([r['updates_per_second'] for r in runs]):.1f} | "
        f"{int(np.mean([r['updates'] for r in runs])):,} | "
        f"{', '.join('not reached' if t is None else f'{t:.0f}' for t in times)} | {ratio} |")
  table = "\n".join(lines) + "\n"
  os.makedirs(results_dir, exist_ok=True)
  prefix = os.path.join(results_dir, f"time_to_score_{task_name}")
  file_utils.write_text_atomic(prefix + ".md", table)
  out = io.StringIO()
  writer = csv.DictWriter(out, fieldnames=["method", "seed", "final", "updates", "seconds",
                                           "updates_per_second", "compile_seconds", "curve"])
  writer.writeheader()
  for r in results:
    writer.writerow({**r, "curve": json.dumps(r["curve"])})
  file_utils.write_text_atomic(prefix + ".csv", out.getvalue())
  _plot(task_name, results, methods, target, prefix + "_curves.png")
  return table


def _plot(task_name, results, methods, target, path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(7.5, 4.5))
  for i, m in enumerate(methods):
    for j, r in enumerate(r for r in results if r["method"] == m):
      seconds, _, score = zip(*r["curve"])
      ax.plot(seconds, score, "-o", color=f"C{i}", markersize=3, alpha=0.8,
              label=LABELS.get(m, m) if j == 0 else None)
  if np.isfinite(target):
    ax.axhline(target, color="k", ls="--", lw=1, label="target")
  ax.set_xlabel("seconds of updates (evaluation and compilation not counted)")
  ax.set_ylabel("normalized score")
  ax.set_title(f"{task_name}: score against compute (one line per seed)", fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7)
  fig.tight_layout()
  file_utils.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=110), binary=True)
  plt.close(fig)


def read_csv(path: str) -> list[dict]:
  """The runs of a CSV this benchmark wrote."""
  with open(path) as f:
    rows = list(csv.DictReader(f))
  return [{"method": r["method"], "seed": int(r["seed"]), "final": float(r["final"]),
           "updates": int(r["updates"]), "seconds": float(r["seconds"]),
           "updates_per_second": float(r["updates_per_second"]),
           "compile_seconds": float(r["compile_seconds"]),
           "curve": [tuple(p) for p in json.loads(r["curve"])]} for r in rows]


def _cpus() -> str:
  """The CPUs this process may run on, e.g. "1 of a machine's 2 CPUs (pinned)"
  under ``taskset -c 0``."""
  usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  if usable == os.cpu_count():
    return f"a {usable}-CPU machine"
  return f"{usable} of a machine's {os.cpu_count()} CPUs (pinned)"


def main(argv=None) -> list[dict]:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--task", default="two_routes", choices=learning.TASKS[:2])
  parser.add_argument("--methods", default=",".join(METHODS))
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--max_seconds", type=float, default=120.0,
                      help="update time per method and seed")
  parser.add_argument("--eval_every", type=float, default=10.0,
                      help="seconds of updates between evaluations")
  parser.add_argument("--episodes", type=int, default=None,
                      help="episodes per evaluation (default: the task's final count)")
  parser.add_argument("--target", type=float, default=0.9,
                      help="fraction of the task preset's mean final score to reach")
  parser.add_argument("--target_score", type=float, default=None,
                      help="an absolute normalized score to reach instead (e.g. 90)")
  parser.add_argument("--merge_csv", default=None,
                      help="a previous run's CSV: its (method, seed) runs join the report "
                           "and are not run again")
  parser.add_argument("--workdir", default=None)
  parser.add_argument("--results_dir", default=None)
  parser.add_argument("--quick", action="store_true")
  args = parser.parse_args(argv)
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  methods = [m for m in args.methods.split(",") if m]
  unknown = sorted(set(methods) - set(METHODS))
  if unknown:
    raise SystemExit(f"unknown methods {unknown}; choose from: {', '.join(METHODS)}")
  task = learning.make_task(args.task, args.quick)
  max_seconds, eval_every = args.max_seconds, args.eval_every
  episodes = args.episodes or task.eval_episodes
  if args.quick:
    max_seconds, eval_every, episodes = 0.5, 0.25, 1
  workdir = args.workdir or f"/tmp/pa_rl_time_to_score{'_quick' if args.quick else ''}"
  results_dir = args.results_dir or (
      os.path.join(workdir, "results") if args.quick
      else os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
  results = read_csv(args.merge_csv) if args.merge_csv else []
  done = {(r["method"], r["seed"]) for r in results}
  budget = (f"each run evaluated ({episodes} episodes) every {eval_every:g} s of updates, "
            f"on {_cpus()}")
  for seed in (int(s) for s in args.seeds.split(",") if s):
    if all((m, seed) in done for m in methods):
      continue
    dataset, _ = learning.collect_dataset(task, workdir, seed)
    refs = learning.reference_scores(task, seed, episodes, workdir)
    for method in methods:
      if (method, seed) in done:
        continue
      result = run(task, method, dataset, seed, refs, max_seconds=max_seconds,
                   eval_every=eval_every, episodes=episodes)
      print(f"{method} seed {seed}: final {result['final']:.1f} after {result['updates']} "
            f"updates ({result['updates_per_second']:.1f}/s); curve {result['curve']}",
            flush=True)
      results.append(result)
      write_report(task.name, results, results_dir, args.target, budget, args.target_score)
  print(write_report(task.name, results, results_dir, args.target, budget, args.target_score))
  return results


if __name__ == "__main__":
  main()
