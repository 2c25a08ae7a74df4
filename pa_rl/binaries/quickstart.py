r"""The README's main job: collect -> train PA-RL offline -> evaluate.

On the built-in two-routes task: collects a mixed-quality dataset (expert,
noisy expert and random episodes) with the scripted expert, trains PA-RL with
a diffusion policy and an ensemble Cal-QL critic offline, and evaluates the
policy, printing the success rate beside diffusion-BC-free baselines' numbers
from the data itself.

  python -m pa_rl.binaries.quickstart --workdir=/tmp/pa_rl_quickstart
"""

import json
import os
import time

from absl import app
from absl import flags
from absl import logging

_WORKDIR = flags.DEFINE_string("workdir", "/tmp/pa_rl_quickstart", "Where data and results go.")
_NUM_EPISODES = flags.DEFINE_integer("num_episodes", 300, "Episodes to collect.")
_NUM_STEPS = flags.DEFINE_integer("num_steps", 2000, "Offline PA-RL updates.")
_EVAL_EPISODES = flags.DEFINE_integer("eval_episodes", 50, "Evaluation episodes.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed.")


def main(argv):
  del argv
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  import jax
  import pa_rl as ljx
  from pa_rl import environments
  from pa_rl import progress
  from pa_rl.agents import evaluation
  from pa_rl.datasets import collection

  workdir = _WORKDIR.value
  data_path = os.path.join(workdir, "data", "two_routes_mixed")
  if os.path.exists(data_path):
    print(f"[1/3] Using the dataset already at {data_path}")
  else:
    print(f"[1/3] Collecting {_NUM_EPISODES.value} mixed-quality episodes on two_routes ...")
    stats = collection.collect("two_routes", data_path, policy="mixed",
                               num_episodes=_NUM_EPISODES.value, seed=_SEED.value)
    print(f"      behaviour policy success rate: {stats['success_rate']:.1%} "
          f"({stats['transitions']} transitions)")
  dataset = ljx.OfflineDataset.load_from_path(data_path, normalize=True, seed=_SEED.value)

  print(f"[2/3] Training PA-RL (diffusion policy + ensemble Cal-QL critic) for "
        f"{_NUM_STEPS.value} updates ...")
  policy = ljx.create_policy_model("diffusion", _SEED.value, dataset.shape_meta,
                                   {"hidden_dim": 128, "num_blocks": 2, "time_dim": 16})
  critic = ljx.create_q_critic("ensemble", _SEED.value + 1, dataset.shape_meta,
                               {"hidden_sizes": (128, 128), "ensemble_size": 4})
  agent = ljx.create_agent("diffusion_rl", policy, critic, _SEED.value + 2, {
      "batch_size": 256, "num_cql_actions": 4,
      "action_optimization": {"num_samples": 16, "top_k": 4, "num_steps": 2, "step_size": 0.05},
  })
  start = time.time()
  info = {}
  for _ in progress.progress(range(_NUM_STEPS.value), desc="train"):
    dataset, batch = dataset.sample(256)
    state, info = agent.functions.update(agent.state, batch)
    agent = agent.replace(state=state)
  jax.block_until_ready(agent.state)
  elapsed = time.time() - start
  info = {k: float(v) for k, v in info.items()}
  logging.info("final metrics %s", info)

  print(f"[3/3] Evaluating on {_EVAL_EPISODES.value} episodes ...")
  env = environments.make_environment("two_routes", seed=_SEED.value + 1000)
  result = evaluation.evaluate(evaluation.make_actor(agent, seed=_SEED.value), env,
                               _EVAL_EPISODES.value)
  os.makedirs(workdir, exist_ok=True)
  summary = {"success_rate": result["success"], "mean_return": result["return"],
             "train_seconds": elapsed, "updates": _NUM_STEPS.value}
  with open(os.path.join(workdir, "quickstart_result.json"), "w") as f:
    json.dump(summary, f, indent=1)
  print(f"PA-RL (diffusion) success rate on two_routes: {result['success']:.1%} "
        f"(mean return {result['return']:.2f}; {_NUM_STEPS.value} updates in {elapsed:.0f}s)")
  print(f"Results: {os.path.join(workdir, 'quickstart_result.json')}")


if __name__ == "__main__":
  app.run(main)
