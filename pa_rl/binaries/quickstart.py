r"""The README's main job: collect -> train PA-RL offline -> evaluate -> pictures.

On the built-in two-routes task: collects a mixed-quality dataset (20%
expert, 30% noisy expert, 50% random episodes) with the scripted expert,
trains PA-RL (diffusion policy, ensemble Cal-QL critic) offline with a few
evaluations along the way, evaluates it, and prints its success rate beside
the data's own. Into ``--workdir`` it writes what a run shows:

  learning_curve.png   success, return, losses, Q values over the updates
  routes.png           the data's paths beside PA-RL's: both routes kept
  rollout.gif          the first evaluation episodes, captioned
  train.csv, eval.csv, tensorboard/   the logged metrics
  quickstart_result.json              the numbers printed at the end

  python -m pa_rl.binaries.quickstart --workdir=/tmp/pa_rl_quickstart
"""

import os
import time

from absl import flags
from absl import logging

from pa_rl import file_utils
from pa_rl.binaries import running

_WORKDIR = flags.DEFINE_string("workdir", "/tmp/pa_rl_quickstart", "Where data and results go.")
_NUM_STEPS = flags.DEFINE_integer("num_steps", 4000, "Offline PA-RL updates.")
_EVAL_EPISODES = flags.DEFINE_integer("eval_episodes", 50, "Evaluation episodes.")
_EVALS = flags.DEFINE_integer("evals_during_training", 4,
                              "Evaluations (10 episodes each) during training, for the curve.")
_VIDEO_EPISODES = flags.DEFINE_integer("video_episodes", 3, "Episodes in rollout.gif.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed.")
_LOG_EVERY = 100


def _episodes(env, actor, num_episodes, record=0):
  """Runs episodes; returns their stats, paths and (the first ``record``) frames."""
  from pa_rl.agents import evaluation  # pylint: disable=g-import-not-at-top
  results, paths, frames = [], [], []
  for i in range(num_episodes):
    episode_frames = [] if i < record else None
    results.append(evaluation.run_episode(
        env, actor, render=env.render if i < record else None, frames=episode_frames))
    paths.append(env.trail)
    if episode_frames is not None:
      frames.append(episode_frames)
  return results, paths, frames


def _write_gif(frames, results, path):
  from pa_rl import plots  # pylint: disable=g-import-not-at-top
  shown, captions, hold = [], [], []
  for i, (episode, stats) in enumerate(zip(frames, results)):
    head = f"PA-RL on two_routes, episode {i + 1}"
    captions += [f"{head}  t={t}" for t in range(len(episode) - 1)]
    captions.append(f"{head}  " + ("success" if stats["success"] else "failure"))
    shown += episode
    hold.append(len(shown) - 1)
  return plots.write_gif(shown, path, fps=12, captions=captions, hold=hold)


def main(argv):
  running.check_no_arguments(argv)
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  import pa_rl as ljx  # pylint: disable=g-import-not-at-top
  from pa_rl import environments  # pylint: disable=g-import-not-at-top
  from pa_rl import metrics_writer  # pylint: disable=g-import-not-at-top
  from pa_rl import plots  # pylint: disable=g-import-not-at-top
  from pa_rl import progress  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import evaluation  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import presets  # pylint: disable=g-import-not-at-top
  from pa_rl.datasets import collection  # pylint: disable=g-import-not-at-top
  from pa_rl.datasets import rlds_io  # pylint: disable=g-import-not-at-top

  workdir = _WORKDIR.value
  seed = _SEED.value
  num_steps = _NUM_STEPS.value
  data_path = os.path.join(workdir, "data", "two_routes_mixed")
  if os.path.exists(data_path):
    print(f"[1/4] Using the dataset already at {data_path}")
    data_success = None
  else:
    print("[1/4] Collecting a mixed-quality dataset on two_routes ...")
    stats = collection.collect("two_routes", data_path, seed=seed, **presets.TWO_ROUTES_DATA)
    data_success = stats["success_rate"]
    print(f"      {stats['episodes']} episodes, {stats['transitions']} transitions; "
          f"behaviour success rate {data_success:.1%}")
  dataset = ljx.OfflineDataset.load_from_path(data_path, normalize=True, seed=seed,
                                              discount=presets.TWO_ROUTES_DISCOUNT)

  print(f"[2/4] Training PA-RL (diffusion policy + ensemble Cal-QL critic), "
        f"{num_steps} updates ...")
  meta = dataset.shape_meta
  agent = ljx.create_agent(
      "diffusion_rl", ljx.create_policy_model("diffusion", seed, meta, presets.DIFFUSION),
      ljx.create_q_critic("ensemble", seed + 1, meta, presets.CRITIC), seed + 2, presets.PARL)
  writer = metrics_writer.MetricsWriter(workdir, resume_step=0)
  eval_env = environments.make_environment("two_routes", seed=seed + 1000)
  eval_at = set(np.linspace(0, num_steps, _EVALS.value + 1).round().astype(int)[1:-1].tolist())
  start, eval_seconds = time.time(), 0.0
  metrics = {}
  for step in progress.progress(range(1, num_steps + 1), desc="train"):
    dataset, batch = dataset.sample(presets.PARL["batch_size"])
    state, metrics = agent.functions.update(agent.state, batch)
    agent = agent.replace(state=state)
    if step % _LOG_EVERY == 0 or step == num_steps:
      writer.write("train", step, metrics)
    if step in eval_at:
      tick = time.time()
      results, _, _ = _episodes(eval_env, evaluation.make_actor(agent, seed=seed), 10)
      writer.write("eval", step, {"eval/success": np.mean([r["success"] for r in results]),
                                  "eval/return": np.mean([r["return"] for r in results])})
      eval_seconds += time.time() - tick
  jax.block_until_ready(agent.state)
  elapsed = time.time() - start - eval_seconds
  logging.info("final metrics %s", {k: float(v) for k, v in metrics.items()})

  print(f"[3/4] Evaluating on {_EVAL_EPISODES.value} episodes ...")
  env = environments.make_environment("two_routes", seed=seed + 1000)
  results, paths, frames = _episodes(env, evaluation.make_actor(agent, seed=seed),
                                     _EVAL_EPISODES.value, record=_VIDEO_EPISODES.value)
  success = float(np.mean([r["success"] for r in results]))
  mean_return = float(np.mean([r["return"] for r in results]))
  writer.write("eval", num_steps, {"eval/success": success, "eval/return": mean_return})
  writer.close()

  print("[4/4] Drawing the learning curve, the routes and a rollout ...")
  files = {"learning curve": plots.learning_curve(
      workdir, os.path.join(workdir, "learning_curve.png"),
      f"PA-RL (diffusion + Cal-QL) on two_routes, {num_steps} updates")}
  episodes, _ = rlds_io.load_episodes(data_path)
  data_paths = [e["steps"]["observation"]["position"] for e in episodes]
  data_successes = [bool(e["episode_metadata"]["success"]) for e in episodes]
  files["routes"] = plots.two_routes_picture(
      [("the data (expert, noisy and random)", data_paths, data_successes),
       (f"PA-RL after {num_steps} updates", paths, [r["success"] > 0 for r in results])],
      os.path.join(workdir, "routes.png"))
  if frames:
    files["rollout"] = _write_gif(frames, results, os.path.join(workdir, "rollout.gif"))
  files["metrics"] = os.path.join(workdir, "train.csv") + ", eval.csv, tensorboard/"
  summary = {"success_rate": success, "mean_return": mean_return,
             "data_success_rate": data_success, "updates": num_steps,
             "train_seconds": round(elapsed, 1)}
  result_path = os.path.join(workdir, "quickstart_result.json")
  file_utils.write_json_atomic(result_path, summary)
  files["results"] = result_path
  print(f"PA-RL (diffusion) success rate on two_routes: {success:.1%} "
        f"(mean return {mean_return:.2f}; {num_steps} updates in {elapsed:.0f}s)")
  for name, path in files.items():
    if path:
      print(f"  {name + ':':16s}{path}")


if __name__ == "__main__":
  running.run(main)
