"""A diffusion policy improved by a Q-critic, offline (the seed README's flow).

Collects a small mixed-quality dataset on the built-in two-routes task with
our own `collect` code, then runs exactly the README's loop:
create_policy_model -> create_q_critic -> create_agent("diffusion_rl") ->
dataset.sample / agent.update -> agent.act.

  python examples/diff_rl_example.py            # ~4 minutes on 2 CPU cores
"""

import os
import tempfile

from absl import app
from absl import flags

import pa_rl as ljx
from pa_rl import environments
from pa_rl.agents import evaluation
from pa_rl.agents import presets
from pa_rl.datasets import collection

_NUM_STEPS = flags.DEFINE_integer("num_steps", 4000, "Updates.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 256, "Batch size.")
_DATA = flags.DEFINE_string("data", None, "Dataset directory (collected when missing).")


def main(argv):
  del argv
  path = _DATA.value or os.path.join(tempfile.gettempdir(), "pa_rl_example_two_routes")
  if not os.path.exists(path):
    collection.collect("two_routes", path, seed=0, **presets.TWO_ROUTES_DATA)

  dataset = ljx.OfflineDataset.load_from_path(path=path, normalize=True, seed=3,
                                              discount=presets.TWO_ROUTES_DISCOUNT)
  shape_meta = dataset.shape_meta
  policy = ljx.create_policy_model(
      policy_type="diffusion", seed=0, shape_meta=shape_meta,
      config=presets.DIFFUSION)
  critic = ljx.create_q_critic(
      critic_type="ensemble", seed=1, shape_meta=shape_meta,
      config=presets.CRITIC)
  agent = ljx.create_agent(
      agent_type="diffusion_rl", policy=policy, critic=critic, seed=2,
      config={**presets.PARL, "batch_size": _BATCH_SIZE.value})

  for step in range(_NUM_STEPS.value):
    dataset, batch = dataset.sample(_BATCH_SIZE.value)
    info = agent.update(batch)
    if "agent" in info:
      agent = info["agent"]
    if step % 500 == 0:
      print(f"step {step}: critic/loss {info['critic/loss']:.4f} "
            f"policy/loss {info['policy/loss']:.4f} "
            f"action_opt/global_gain {info['action_opt/global_gain']:.4f}")

  env = environments.make_environment("two_routes", seed=7)
  timestep = env.reset()
  action = agent.act(timestep.observation, evaluation=True, guidance_scale=2.0)
  print(f"first action (environment units): {action}")
  result = evaluation.evaluate(evaluation.make_actor(agent), env, num_episodes=20)
  print(f"success rate over 20 episodes: {result['success']:.0%}")


if __name__ == "__main__":
  app.run(main)
