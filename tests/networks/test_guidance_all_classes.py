"""guidance_scale means the same for every policy class: samples move up Q."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pa_rl as ljx
from pa_rl import types
from pa_rl.testing import tiny

META = types.ShapeMeta(observations={"state": types.ObsSpec((2,))}, action_dim=2)
TARGET = jnp.array([0.6, -0.4])


def _grad(obs, actions):
  return -(actions - TARGET)  # dQ/da of Q = -|a - a*|^2 / 2


@pytest.mark.parametrize("policy_type", ["gaussian", "autoregressive"])
def test_guidance_moves_samples_toward_the_q_maximum(policy_type):
  policy = ljx.create_policy_model(policy_type, 0, META, tiny.POLICY_CONFIGS[policy_type])
  obs = {"state": jnp.zeros((4, 2))}
  key = jax.random.PRNGKey(0)
  plain = policy.network.sample(policy.params, key, obs, 64)
  guided = policy.network.sample(policy.params, key, obs, 64, guidance_fn=_grad,
                                 guidance_scale=0.5)
  unguided = policy.network.sample(policy.params, key, obs, 64, guidance_fn=_grad,
                                   guidance_scale=0.0)
  np.testing.assert_array_equal(plain, unguided)
  d_plain = jnp.linalg.norm(plain - TARGET, axis=-1).mean()
  d_guided = jnp.linalg.norm(guided - TARGET, axis=-1).mean()
  # One step of size 0.5 on this quadratic halves every distance (before clipping).
  assert float(d_guided) == pytest.approx(0.5 * float(d_plain), rel=0.05)
  assert float(jnp.abs(guided).max()) <= 1.0
