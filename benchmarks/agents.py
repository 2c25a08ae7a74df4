"""Prints update steps/s of BC, IQL, Cal-QL and PA-RL, and act() latency.

HalfCheetah-like shapes (obs 17, act 6), batch 256, the reference defaults
(diffusion: 5 steps, LN-ResNet 3x256; N=32, k=10, T=10; 10-member 256x2
LayerNorm critic), on random data. A bare 256x256 MLP adam step runs in the
same process as the yardstick. Pass --quick for smaller networks.

  python -m benchmarks.agents [--quick]
"""

import sys
import time

import jax
import numpy as np

import pa_rl as ljx
from pa_rl import types
from pa_rl.testing import fakes
from benchmarks import yardstick


def _rate(fn, state, seconds):
  state = jax.block_until_ready(fn(state))  # compile
  count, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    state = fn(state)
    jax.block_until_ready(state)
    count += 1
  return count / (time.perf_counter() - start)


def main():
  quick = "--quick" in sys.argv
  seconds = 3.0 if quick else 10.0
  spec = {"state": types.ObsSpec((17,))}
  episodes = [{"steps": fakes.make_episode(1000, observation_spec=spec, action_dim=6, seed=i)}
              for i in range(10)]
  dataset = ljx.OfflineDataset.from_episodes(episodes)
  meta = dataset.shape_meta
  _, batch = dataset.sample(256)
  diffusion = {"hidden_dim": 64, "num_blocks": 1} if quick else None
  critic_cfg = {"hidden_sizes": (64, 64), "ensemble_size": 2} if quick else None
  ao = ({"num_samples": 8, "top_k": 2, "num_steps": 2} if quick else
        {"num_samples": 32, "top_k": 10, "num_steps": 10})
  cases = {
      "BC (gaussian)": ("imitation", "gaussian", None, {}),
      "BC (diffusion)": ("imitation", "diffusion", None, {}),
      "IQL (gaussian)": ("iql", "gaussian", {"value_head": True}, {}),
      "Cal-QL (gaussian)": ("calql", "gaussian", {}, {}),
      "PA-RL (diffusion, Cal-QL)": ("diffusion_rl", "diffusion", {},
                                    {"action_optimization": ao}),
  }
  print(f"device: {jax.devices()[0]}, batch 256, obs 17, act 6, "
        f"{'quick sizes' if quick else 'reference sizes'}")
  print(f"yardstick 256x256 MLP adam: {yardstick.mlp_adam_steps_per_second():.0f} steps/s")
  for name, (agent_type, policy_type, critic_extra, config) in cases.items():
    policy = ljx.create_policy_model(policy_type, 0, meta,
                                     diffusion if policy_type == "diffusion" else None)
    critic = None
    if critic_extra is not None:
      critic = ljx.create_q_critic("ensemble", 1, meta, {**(critic_cfg or {}), **critic_extra})
    agent = ljx.create_agent(agent_type, policy, critic, 2, config)
    rate = _rate(lambda s: agent.functions.update(s, batch)[0], agent.state, seconds)
    print(f"{name:28s} {rate:8.2f} updates/s")
    if agent_type == "diffusion_rl":
      obs = {"state": np.zeros(17, np.float32)}
      agent.act(obs)
      start = time.perf_counter()
      for _ in range(5):
        agent.act(obs)
      one = (time.perf_counter() - start) / 5
      batch_obs = {"state": np.zeros((64, 17), np.float32)}
      agent.act(batch_obs)
      start = time.perf_counter()
      agent.act(batch_obs)
      print(f"{'  act() latency':28s} {one * 1e3:8.1f} ms (1 obs), "
            f"{(time.perf_counter() - start) * 1e3:.1f} ms (64 obs)")


if __name__ == "__main__":
  main()
