"""Times the networks at the reference default sizes.

Per policy type: ``sample()`` of N=32 actions for a batch of 256 states, and
one loss + gradient at batch 256; per critic type: target_q + TD loss +
gradient at batch 256, and one ``action_grad`` of N x B actions; and, as a
yardstick, one Adam step of a bare 256x256 MLP. Everything is timed after compilation
(median of several runs). Observations are a 17-d state, actions 6-d.

  python benchmarks/networks.py [--repeats 10] [--batch 256] [--samples 32]
"""

from __future__ import annotations

import argparse
import statistics
import time

import haiku as hk
import jax
import jax.numpy as jnp
import optax

from pa_rl import types
from pa_rl.networks import registry
from pa_rl.networks import utils

OBS_DIM, ACTION_DIM = 17, 6


def _time(fn, *args, repeats: int) -> tuple[float, float]:
  """Returns (compile + first run seconds, median steady-state ms)."""
  start = time.perf_counter()
  jax.block_until_ready(fn(*args))
  first = time.perf_counter() - start
  runs = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    runs.append(time.perf_counter() - start)
  return first, 1e3 * statistics.median(runs)


def _loss_grad(loss_fn):
  return jax.jit(jax.value_and_grad(lambda p, k: loss_fn(p, k)[0]))


def _adam_step(loss_fn, params):
  optimizer = optax.adam(3e-4)
  opt_state = optimizer.init(params)

  @jax.jit
  def step(params, opt_state, key):
    grads = jax.grad(lambda p: loss_fn(p, key)[0])(params)
    updates, opt_state = optimizer.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state

  return step, params, opt_state


def main():
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument("--repeats", type=int, default=10)
  parser.add_argument("--batch", type=int, default=256)
  parser.add_argument("--samples", type=int, default=32)
  args = parser.parse_args()
  batch, num_samples = args.batch, args.samples
  meta = types.ShapeMeta(observations={"state": types.ObsSpec((OBS_DIM,))},
                         action_dim=ACTION_DIM)
  key = jax.random.PRNGKey(0)
  obs = {"state": jax.random.normal(key, (batch, OBS_DIM))}
  actions = jax.random.uniform(key, (batch, ACTION_DIM), minval=-1, maxval=1)
  print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}); "
        f"batch {batch}, N={num_samples}, obs {OBS_DIM}, act {ACTION_DIM}; "
        f"median of {args.repeats} runs after compile")
  print(f"{'network':<26}{'operation':<34}{'compile+1st s':>14}{'ms':>10}")

  def report(name, op, timing):
    print(f"{name:<26}{op:<34}{timing[0]:>14.2f}{timing[1]:>10.2f}")

  for policy_type in ("gaussian", "diffusion", "autoregressive"):
    net, _ = registry.make_policy_network(policy_type, meta)
    params = jax.jit(net.init)(key, obs)
    sample = jax.jit(lambda p, k: net.sample(p, k, obs, num_samples))
    report(policy_type, f"sample N={num_samples} x B={batch}",
           _time(sample, params, key, repeats=args.repeats))
    loss_grad = _loss_grad(lambda p, k: net.loss(p, k, obs, actions))
    report(policy_type, f"loss+grad B={batch}",
           _time(loss_grad, params, key, repeats=args.repeats))

  flat = jax.random.uniform(key, (batch * num_samples, ACTION_DIM), minval=-1,
                            maxval=1)
  obs_rep = utils.repeat_observation(obs, num_samples)
  for critic_type in ("ensemble", "distributional"):
    net, config = registry.make_critic_network(critic_type, meta)
    params = jax.jit(net.init)(key, obs, actions)
    name = f"{critic_type} (E={config.ensemble_size})"
    loss_grad = _loss_grad(
        lambda p, k: net.loss(p, obs, actions, net.target_q(p, k, obs, actions)))
    report(name, f"target_q+loss+grad B={batch}",
           _time(loss_grad, params, key, repeats=args.repeats))
    grad = jax.jit(lambda p: net.action_grad(p, obs_rep, flat))
    report(name, f"action_grad {batch * num_samples} actions",
           _time(grad, params, repeats=args.repeats))

  mlp = hk.without_apply_rng(hk.transform(
      lambda x: hk.nets.MLP([256, 256, ACTION_DIM])(x)))
  params = mlp.init(key, obs["state"])
  step, params, opt_state = _adam_step(
      lambda p, k: (jnp.mean(jnp.square(mlp.apply(p, obs["state"]) - actions)),),
      params)
  report("yardstick 256x256 MLP", f"mse+grad+adam B={batch}",
         _time(step, params, opt_state, key, repeats=args.repeats))


if __name__ == "__main__":
  main()
