r"""The README's main job: collect -> train PA-RL offline -> evaluate.

On the built-in two-routes task: collects a mixed-quality dataset (20%
expert, 30% noisy expert, 50% random episodes) with the scripted expert,
trains PA-RL (diffusion policy, ensemble Cal-QL critic) offline, evaluates
it, and prints its success rate beside the data's own success rate. About
three minutes on 2 CPU cores.

  python -m pa_rl.binaries.quickstart --workdir=/tmp/pa_rl_quickstart
"""

import os
import time

from absl import app
from absl import flags
from absl import logging

from pa_rl import file_utils

_WORKDIR = flags.DEFINE_string("workdir", "/tmp/pa_rl_quickstart", "Where data and results go.")
_NUM_STEPS = flags.DEFINE_integer("num_steps", 4000, "Offline PA-RL updates.")
_EVAL_EPISODES = flags.DEFINE_integer("eval_episodes", 50, "Evaluation episodes.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed.")


def main(argv):
  del argv
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  import jax  # pylint: disable=g-import-not-at-top
  import pa_rl as ljx  # pylint: disable=g-import-not-at-top
  from pa_rl import environments  # pylint: disable=g-import-not-at-top
  from pa_rl import progress  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import evaluation  # pylint: disable=g-import-not-at-top
  from pa_rl.agents import presets  # pylint: disable=g-import-not-at-top
  from pa_rl.datasets import collection  # pylint: disable=g-import-not-at-top

  workdir = _WORKDIR.value
  seed = _SEED.value
  data_path = os.path.join(workdir, "data", "two_routes_mixed")
  if os.path.exists(data_path):
    print(f"[1/3] Using the dataset already at {data_path}")
    data_success = None
  else:
    print("[1/3] Collecting a mixed-quality dataset on two_routes ...")
    stats = collection.collect("two_routes", data_path, seed=seed, **presets.TWO_ROUTES_DATA)
    data_success = stats["success_rate"]
    print(f"      {stats['episodes']} episodes, {stats['transitions']} transitions; "
          f"behaviour success rate {data_success:.1%}")
  dataset = ljx.OfflineDataset.load_from_path(data_path, normalize=True, seed=seed,
                                              discount=presets.TWO_ROUTES_DISCOUNT)

  print(f"[2/3] Training PA-RL (diffusion policy + ensemble Cal-QL critic), "
        f"{_NUM_STEPS.value} updates ...")
  meta = dataset.shape_meta
  agent = ljx.create_agent(
      "diffusion_rl", ljx.create_policy_model("diffusion", seed, meta, presets.DIFFUSION),
      ljx.create_q_critic("ensemble", seed + 1, meta, presets.CRITIC), seed + 2, presets.PARL)
  start = time.time()
  metrics = {}
  for _ in progress.progress(range(_NUM_STEPS.value), desc="train"):
    dataset, batch = dataset.sample(presets.PARL["batch_size"])
    state, metrics = agent.functions.update(agent.state, batch)
    agent = agent.replace(state=state)
  jax.block_until_ready(agent.state)
  elapsed = time.time() - start
  logging.info("final metrics %s", {k: float(v) for k, v in metrics.items()})

  print(f"[3/3] Evaluating on {_EVAL_EPISODES.value} episodes ...")
  env = environments.make_environment("two_routes", seed=seed + 1000)
  result = evaluation.evaluate(evaluation.make_actor(agent, seed=seed), env,
                               _EVAL_EPISODES.value)
  os.makedirs(workdir, exist_ok=True)
  summary = {"success_rate": result["success"], "mean_return": result["return"],
             "data_success_rate": data_success, "updates": _NUM_STEPS.value,
             "train_seconds": round(elapsed, 1)}
  result_path = os.path.join(workdir, "quickstart_result.json")
  file_utils.write_json_atomic(result_path, summary)
  print(f"PA-RL (diffusion) success rate on two_routes: {result['success']:.1%} "
        f"(mean return {result['return']:.2f}; {_NUM_STEPS.value} updates in {elapsed:.0f}s)")
  print(f"Results written to {result_path}")


if __name__ == "__main__":
  app.run(main)
