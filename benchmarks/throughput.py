"""Prints update steps/s of every agent, the PA-RL phases, act() latency and
`OfflineDataset.sample` throughput, each also as a ratio to a yardstick.

HalfCheetah-like shapes (obs 17, act 6), batch 256, the reference defaults:
diffusion DDPM with 5 steps on an LN-ResNet 3x256 (flow matching on the same
network with 10 and 5 Euler steps); action optimization N=32,
k=10, T=10; a 10-member 256x2 LayerNorm critic (Cal-QL also with 2 members,
the official code's ensemble). Random data. The yardstick, a bare 256x256 MLP
adam step, runs in the same process (before and after; the mean is used), so
the ratios can be compared across machines and loads.

The "OGBench:" rows are the offline updates of the OGBench presets at their
own sizes (IQL; PA-RL's diffusion BC + IQL critic at 128 and 256 wide; its
autoregressive transformer + IQL critic at 64 and 128 wide).

"fused xK" runs K updates per jitted call (`make_multi_update_step`), on K
pre-sampled batches.

  python -m benchmarks.throughput [--quick]

``--quick`` uses small networks and short timings (a few minutes on a busy
2-core machine, nearly all of it compiling); ``--only NAME`` keeps the cases
whose name contains NAME (a test runs ``--quick --only "BC (gaussian)"``).
"""

from __future__ import annotations

import argparse
import os
import re
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

import pa_rl as ljx  # noqa: E402
from pa_rl import types  # noqa: E402
from pa_rl.agents import update as update_lib  # noqa: E402
from pa_rl.agents.bc import config as bc_config  # noqa: E402
from pa_rl.agents.calql import config as calql_config  # noqa: E402
from pa_rl.agents.iql import config as iql_config  # noqa: E402
from pa_rl.agents.parl import config as parl_config  # noqa: E402
from pa_rl.networks import registry  # noqa: E402
from pa_rl.testing import fakes  # noqa: E402
from benchmarks import yardstick  # noqa: E402

BATCH = 256
OBS_DIM, ACT_DIM = 17, 6


def _rate(fn, seconds: float, min_calls: int = 2) -> float:
  """Calls per second of ``fn()`` (blocking on its output), after one warm-up."""
  jax.block_until_ready(fn())
  count, start = 0, time.perf_counter()
  while count < min_calls or time.perf_counter() - start < seconds:
    jax.block_until_ready(fn())
    count += 1
  return count / (time.perf_counter() - start)


def _sizes(quick: bool) -> dict:
  if quick:
    return dict(
        diffusion={"hidden_dim": 32, "num_blocks": 1, "time_dim": 8},
        flow={"hidden_dim": 32, "num_blocks": 1, "time_dim": 8},
        gaussian={"hidden_sizes": (32, 32)},
        critic={"hidden_sizes": (32, 32)}, ensemble=2,
        ao={"num_samples": 4, "top_k": 2, "num_steps": 2},
        seconds=0.3, fuse=4, quick=True)
  return dict(diffusion=None, flow=None, gaussian=None, critic={}, ensemble=10,
              ao={"num_samples": 32, "top_k": 10, "num_steps": 10},
              seconds=4.0, fuse=10, quick=False)


def _cases(sizes: dict) -> dict:
  """name -> (policy type, critic config or None, agent config, objective)."""
  ao = {"action_optimization": sizes["ao"]}
  ens = sizes["ensemble"]
  iql_critic = {**sizes["critic"], "ensemble_size": ens, "value_head": True}
  cases = {
      "BC (gaussian)": ("gaussian", None, bc_config.ImitationConfig(),
                        update_lib.Objective("none", "bc")),
      "BC (diffusion)": ("diffusion", None, bc_config.ImitationConfig(),
                         update_lib.Objective("none", "bc")),
      "IQL (gaussian)": ("gaussian", iql_critic, iql_config.IQLConfig(),
                         update_lib.Objective("iql", "awr")),
      "diffusion BC + IQL critic": ("diffusion", iql_critic, iql_config.IQLConfig(),
                                    update_lib.Objective("iql", "bc")),
      # The reference implementations' own sizes: 2 critics without LayerNorm.
      "diffusion BC + IQL critic (2 critics, no LN)": (
          "diffusion", {**iql_critic, "ensemble_size": 2, "layer_norm": False},
          iql_config.IQLConfig(), update_lib.Objective("iql", "bc")),
      "Cal-QL (gaussian, 2 critics, no LN)": (
          "gaussian", {**sizes["critic"], "ensemble_size": 2, "layer_norm": False},
          calql_config.CalQLConfig(), update_lib.Objective("calql", "sac")),
      "Cal-QL (gaussian, 2 critics)": (
          "gaussian", {**sizes["critic"], "ensemble_size": 2}, calql_config.CalQLConfig(),
          update_lib.Objective("calql", "sac")),
      f"Cal-QL (gaussian, {ens} critics)": (
          "gaussian", {**sizes["critic"], "ensemble_size": ens}, calql_config.CalQLConfig(),
          update_lib.Objective("calql", "sac")),
      "PA-RL (diffusion, Cal-QL)": (
          "diffusion", {**sizes["critic"], "ensemble_size": ens},
          parl_config.PARLConfig(**ao), update_lib.Objective("calql", "distill")),
      # Flow matching on the diffusion policy's network (3x256 LN-ResNet).
      "BC (flow, 10 Euler steps)": ("flow", None, bc_config.ImitationConfig(),
                                    update_lib.Objective("none", "bc")),
      "PA-RL (flow, 10 Euler steps, Cal-QL)": (
          "flow", {**sizes["critic"], "ensemble_size": ens},
          parl_config.PARLConfig(**ao), update_lib.Objective("calql", "distill")),
      "PA-RL (flow, 5 Euler steps, Cal-QL)": (
          ("flow", {"num_flow_steps": 5}), {**sizes["critic"], "ensemble_size": ens},
          parl_config.PARLConfig(**ao), update_lib.Objective("calql", "distill")),
  }
  if sizes["quick"]:
    return cases
  # The OGBench presets' offline updates (2 critics and V of 3x256): IQL
  # (iql/gaussian_ogbench.gin) against PA-RL's (parl/diffusion_iql_ogbench.gin:
  # diffusion BC 3 blocks x 128 + the IQL critic) and the same at the
  # reference's 256 (the navigation preset's); the autoregressive preset's
  # (parl/autoregressive_iql_ogbench.gin) at 64 and 128 wide.
  ogbench_critic = {"hidden_sizes": (256, 256, 256), "value_hidden_sizes": (256, 256, 256),
                    "ensemble_size": 2, "value_head": True}
  # parl/autoregressive_iql_ogbench.gin's transformer.
  ogbench_transformer = {"num_bins": 64, "num_layers": 2, "num_heads": 4, "embed_dim": 64,
                         "mlp_ratio": 2, "dropout_rate": 0.1}

  def parl(policy):  # The policy imitates the data beside the IQL critic.
    return policy, ogbench_critic, iql_config.IQLConfig(), update_lib.Objective("iql", "bc")

  cases.update({
      "OGBench: IQL (gaussian 3x256)": (
          ("gaussian", {"hidden_sizes": (256, 256, 256)}), ogbench_critic,
          iql_config.IQLConfig(), update_lib.Objective("iql", "awr")),
      "OGBench: PA-RL preset (diffusion 3x128)": parl(("diffusion", {"hidden_dim": 128})),
      "OGBench: PA-RL (diffusion 3x256)": parl(("diffusion", {"hidden_dim": 256})),
      "OGBench: PA-RL AR preset (transformer 2x64)": parl(("autoregressive",
                                                           ogbench_transformer)),
      "OGBench: PA-RL AR (transformer 2x128)": parl(
          ("autoregressive", {**ogbench_transformer, "embed_dim": 128})),
  })
  return cases


def _policy_spec(sizes: dict, policy) -> tuple[str, dict | None]:
  """``"diffusion"`` or ``("flow", overrides)`` -> (policy type, its config)."""
  name, extra = (policy, None) if isinstance(policy, str) else policy
  if extra is None:
    return name, sizes[name]
  return name, {**(sizes.get(name) or {}), **extra}


def _dataset(num_episodes: int) -> ljx.OfflineDataset:
  spec = {"state": types.ObsSpec((OBS_DIM,))}
  episodes = [{"steps": fakes.make_episode(1000, observation_spec=spec, action_dim=ACT_DIM,
                                           seed=i)} for i in range(num_episodes)]
  return ljx.OfflineDataset.from_episodes(episodes)


def _networks(meta, sizes, policy_type, critic_config):
  name, config = _policy_spec(sizes, policy_type)
  policy, _ = registry.make_policy_network(name, meta, config)
  critic = None
  if critic_config is not None:
    critic, _ = registry.make_critic_network("ensemble", meta, critic_config)
  return policy, critic


def _init(policy, critic, config, batch):
  critic_params = None
  if critic is not None:
    critic_params = critic.init(jax.random.PRNGKey(1), batch.observation, batch.action)
  return update_lib.init_state(policy.init(jax.random.PRNGKey(0), batch.observation),
                               critic_params, config, jax.random.PRNGKey(2))


class _Table:

  def __init__(self, yard: float):
    self.yard = yard

  def row(self, name: str, rate: float, unit: str = "updates/s", flops: float | None = None):
    achieved = "" if flops is None else f"   {flops * rate / 1e9:6.1f} GFLOP/s"
    print(f"  {name:44s} {rate:10.2f} {unit:10s} {rate / self.yard:8.4f}{achieved}", flush=True)

  def latency(self, name: str, seconds: float):
    rate = 1.0 / seconds
    print(f"  {name:44s} {seconds * 1e3:10.2f} {'ms':10s} {rate / self.yard:8.4f} "
          f"(calls/s ratio)", flush=True)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="small sizes, short timings")
  parser.add_argument("--only", default="", help="run only cases whose name contains this")
  args = parser.parse_args(argv)
  sizes = _sizes(args.quick)
  seconds = sizes["seconds"]
  yard_seconds = 0.5 if args.quick else 3.0

  dataset = _dataset(3 if args.quick else 10)
  meta = dataset.shape_meta
  dataset, batch = dataset.sample(BATCH)
  batches = []
  for _ in range(sizes["fuse"]):
    dataset, b = dataset.sample(BATCH)
    batches.append(b)
  stacked = jax.tree.map(lambda *xs: np.stack(xs), *batches)

  yard_before = yardstick.mlp_adam_steps_per_second(seconds=yard_seconds)
  print(f"device: {jax.devices()[0]} ({os.cpu_count()} CPUs), batch {BATCH}, "
        f"obs {OBS_DIM}, act {ACT_DIM}, {'QUICK sizes' if args.quick else 'reference sizes'}")
  print(f"yardstick (256x256 MLP adam step): {yard_before:.0f} steps/s "
        "(ratio column = figure / yardstick)")
  peak = yardstick.matmul_gflops(seconds=yard_seconds / 3)
  print(f"matmul 8192x256 @ 256x256 (float32): {peak:.0f} GFLOP/s; the last column is the "
        "update's own rate (XLA's FLOP count; only for updates without loops, whose "
        "bodies XLA counts once)")
  table = _Table(yard_before)
  print(f"  {'':44s} {'figure':>10s} {'unit':10s} {'/ yardstick':>8s}")

  for name, (policy_type, critic_config, config, objective) in _cases(sizes).items():
    if args.only and args.only not in name:
      continue
    policy, critic = _networks(meta, sizes, policy_type, critic_config)
    state = _init(policy, critic, config, batch)
    step = update_lib.make_update_step(policy, critic, config, objective)
    single = jax.jit(step)
    holder = {"state": state}

    def run_single():
      holder["state"] = single(holder["state"], batch)[0]
      return holder["state"]

    table.row(name, _rate(run_single, seconds), flops=_flops(single, state, batch))
    # Fusing matters where one update is short next to a dispatch; the quick
    # run keeps one fused case to stay short (compiling dominates it).
    heavy = name.startswith("PA-RL") or "10 critics" in name
    if (args.quick and name == "BC (gaussian)") or (not args.quick and not heavy):
      fused = jax.jit(update_lib.make_multi_update_step(policy, critic, config, objective,
                                                        sizes["fuse"]))

      def run_fused():
        holder["state"] = fused(holder["state"], stacked)[0]
        return holder["state"]

      table.row(f"  fused x{sizes['fuse']}", sizes["fuse"] * _rate(run_fused, seconds))

    if name.startswith("PA-RL"):
      phases = {k: jax.jit(f) for k, f in step.phases.items()}
      targets = phases["action_optimization"](state, batch)
      for phase, args_ in (("critic_update", (state, batch)),
                           ("action_optimization", (state, batch)),
                           ("distillation", (state, batch, targets))):
        table.latency(f"  phase: {phase}", 1.0 / _rate(lambda: phases[phase](*args_), seconds))
      _act_latency(table, meta, sizes, policy_type, critic_config, seconds)

  sample_rate = _rate(lambda: dataset.sample(BATCH)[1], seconds, min_calls=20)
  table.row("OfflineDataset.sample(256)", sample_rate, "batches/s")
  yard_after = yardstick.mlp_adam_steps_per_second(seconds=yard_seconds)
  print(f"yardstick again: {yard_after:.0f} steps/s (before: {yard_before:.0f}; "
        "a large change means the machine's load changed during the run)")


def _flops(jitted, *args) -> float | None:
  """XLA's FLOP count of one call, or None when the program has loops of
  its own (scans, fori_loops: XLA counts a loop body once); the random
  number generator's loops, which carry only integers, are ignored."""
  compiled = jitted.lower(*args).compile()
  for line in compiled.as_text().splitlines():
    if " while(" in line and re.search(r"\b(f32|bf16|f16)\[", line.split(" while(")[0]):
      return None
  analysis = compiled.cost_analysis()
  analysis = analysis[0] if isinstance(analysis, list) else analysis
  return float(analysis.get("flops", 0.0)) or None


def _act_latency(table, meta, sizes, policy_type, critic_config, seconds):
  name, config = _policy_spec(sizes, policy_type)
  policy = ljx.create_policy_model(name, 0, meta, config)
  critic = ljx.create_q_critic("ensemble", 1, meta, critic_config)
  agent = ljx.create_agent("offline_rl", policy, critic, 2,
                           {"action_optimization": sizes["ao"]})
  one = {"state": np.zeros(OBS_DIM, np.float32)}
  many = {"state": np.zeros((64, OBS_DIM), np.float32)}
  table.latency("act() latency, 1 observation", 1.0 / _rate(lambda: agent.act(one), seconds))
  table.latency("act() latency, 64 observations",
                1.0 / _rate(lambda: agent.act(many), seconds))


if __name__ == "__main__":
  main()
