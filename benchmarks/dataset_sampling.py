"""Prints OfflineDataset.sample / ReplayBuffer.sample throughput at batch 256.

Low-dim data shaped like HalfCheetah (obs 17, act 6), 100k transitions, on
the CPU. A bare 256x256 MLP adam step runs in the same process as a yardstick,
so the figures can be read as ratios on any machine.

  python benchmarks/dataset_sampling.py
"""

import os
import tempfile
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import numpy as np

from pa_rl import types
from pa_rl.datasets import offline
from pa_rl.datasets import replay
from pa_rl.testing import fakes
from benchmarks import yardstick


def _rate(fn, state, seconds=2.0):
  state = fn(state)  # Compile.
  jax.block_until_ready(state)
  count, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    for _ in range(100):
      state = fn(state)
    count += 100
  jax.block_until_ready(state)
  return count / (time.perf_counter() - start)


def main():
  spec = {"state": types.ObsSpec((17,))}
  episodes = [{"steps": fakes.make_episode(1000, observation_spec=spec, action_dim=6, seed=i)}
              for i in range(100)]
  ds = offline.OfflineDataset.from_episodes(episodes)
  print(f"dataset: {ds.size} transitions, obs 17, act 6, batch 256, {jax.devices()[0]}")
  sample_rate = _rate(lambda d: d.sample(256)[0], ds)
  print(f"OfflineDataset.sample (with replacement): {sample_rate:,.0f} batches/s")
  chunk = offline.OfflineDataset.from_episodes(episodes, action_horizon=4, n_step=4)
  print(f"OfflineDataset.sample (chunks H=4, 4-step): "
        f"{_rate(lambda d: d.sample(256)[0], chunk):,.0f} batches/s")
  buffer = replay.ReplayBuffer.create(ds.shape_meta, capacity=100_000)
  buffer = buffer.insert(offline.gather(ds.data, np.arange(100_000)))
  print(f"ReplayBuffer.sample: {_rate(lambda b: b.sample(256)[0], buffer):,.0f} batches/s")
  mlp = yardstick.mlp_adam_steps_per_second()
  print(f"yardstick: 256x256 MLP adam step at batch 256: {mlp:,.0f} steps/s")
  print(f"ratio OfflineDataset.sample / yardstick: {sample_rate / mlp:.1f}x "
        f"(goal: >= 10,000 batches/s)")


if __name__ == "__main__":
  main()
