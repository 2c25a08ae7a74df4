"""A bare 256x256 MLP adam step: the common yardstick of every benchmark."""

import time

import haiku as hk
import jax
import jax.numpy as jnp
import optax


def mlp_adam_steps_per_second(batch_size: int = 256, obs_dim: int = 17, act_dim: int = 6,
                              seconds: float = 2.0) -> float:
  """Steps/s of an MLP(256, 256) regression trained with adam, after compile."""
  net = hk.without_apply_rng(hk.transform(lambda x: hk.nets.MLP([256, 256, act_dim])(x)))
  x = jax.random.normal(jax.random.PRNGKey(0), (batch_size, obs_dim))
  y = jax.random.normal(jax.random.PRNGKey(1), (batch_size, act_dim))
  params = net.init(jax.random.PRNGKey(2), x)
  opt = optax.adam(3e-4)
  state = (params, opt.init(params))

  @jax.jit
  def step(state):
    params, opt_state = state
    grads = jax.grad(lambda p: jnp.mean((net.apply(p, x) - y) ** 2))(params)
    updates, opt_state = opt.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state

  state = jax.block_until_ready(step(state))
  count, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    for _ in range(20):
      state = step(state)
    jax.block_until_ready(state)
    count += 20
  return count / (time.perf_counter() - start)


def matmul_gflops(rows: int = 8192, width: int = 256, seconds: float = 1.0) -> float:
  """GFLOP/s of one ``[rows, width] @ [width, width]`` float32 product: the
  machine's practical compute rate at the widths our networks use (the MLP
  yardstick is dominated by per-step overheads, big updates by FLOPs)."""
  a = jax.random.normal(jax.random.PRNGKey(0), (rows, width))
  b = jax.random.normal(jax.random.PRNGKey(1), (width, width))
  product = jax.jit(lambda a, b: a @ b)
  jax.block_until_ready(product(a, b))
  count, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    for _ in range(20):
      out = product(a, b)
    jax.block_until_ready(out)
    count += 20
  return 2.0 * rows * width * width * count / (time.perf_counter() - start) / 1e9
