"""Tests of the shared torsos and the observation encoder."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pa_rl import types
from pa_rl.networks import configs
from pa_rl.networks import torsos

ENCODER = configs.EncoderConfig(image_channels=(4, 4), image_embedding_dim=6,
                                task_embedding_dim=3)


_MODELS = {}


def _encode(shape_meta, obs, params=None):
  """Encodes ``obs``; one jitted model per shape_meta keeps compiles few."""
  if id(shape_meta) not in _MODELS:
    model = hk.without_apply_rng(hk.transform(
        lambda o: torsos.ObservationEncoder(shape_meta, ENCODER)(o)))
    _MODELS[id(shape_meta)] = (shape_meta, jax.jit(model.init),
                               jax.jit(model.apply))
  _, init, apply = _MODELS[id(shape_meta)]
  if params is None:
    params = init(jax.random.PRNGKey(0), obs)
  return apply(params, obs), params


def test_encoder_fuses_every_entry(rich_meta, rich_observation):
  obs = rich_observation(rich_meta, 4)
  features, params = _encode(rich_meta, obs)
  assert features.shape == (4, 6 + 5 + 3)  # image + state + task
  assert "observation_encoder/task_embedding" in params
  assert "observation_encoder/image_encoder_image/conv_1" in params
  # Low-dim entries pass through unchanged (after the image features).
  np.testing.assert_allclose(features[:, 6:11], obs["state"])
  # Images are scaled from uint8: all-255 and all-0 images differ.
  bright = dict(obs, image=jnp.full_like(obs["image"], 255))
  dark = dict(obs, image=jnp.zeros_like(obs["image"]))
  assert not np.allclose(_encode(rich_meta, bright, params)[0][:, :6],
                         _encode(rich_meta, dark, params)[0][:, :6])
  # Different task ids get different embeddings.
  other_task = dict(obs, task_id=(obs["task_id"] + 1) % 3)
  assert not np.allclose(_encode(rich_meta, other_task, params)[0][:, -3:],
                         features[:, -3:])


def test_encoder_accepts_extra_leading_axes(rich_meta, rich_observation):
  obs = rich_observation(rich_meta, 6)
  flat, params = _encode(rich_meta, obs)
  folded = jax.tree.map(lambda x: x.reshape(2, 3, *x.shape[1:]), obs)
  np.testing.assert_allclose(_encode(rich_meta, folded, params)[0].reshape(6, -1),
                             flat, rtol=1e-5, atol=1e-6)


def test_encoder_errors(rich_meta, rich_observation):
  obs = rich_observation(rich_meta, 2)
  with pytest.raises(KeyError, match="no key 'state'"):
    _encode(rich_meta, {k: v for k, v in obs.items() if k != "state"})
  with pytest.raises(KeyError, match="task_id"):
    _encode(rich_meta, {k: v for k, v in obs.items() if k != "task_id"})
  with pytest.raises(ValueError, match="observation 'state' has shape"):
    _encode(rich_meta, dict(obs, state=jnp.zeros((2, 4))))


def test_encoder_is_independent_of_dict_order():
  meta_ab = types.ShapeMeta(observations={"a": types.ObsSpec((2,)),
                                          "b": types.ObsSpec((1,))}, action_dim=1)
  meta_ba = types.ShapeMeta(observations={"b": types.ObsSpec((1,)),
                                          "a": types.ObsSpec((2,))}, action_dim=1)
  obs = {"a": jnp.array([[1.0, 2.0]]), "b": jnp.array([[3.0]])}
  np.testing.assert_array_equal(_encode(meta_ab, obs)[0], _encode(meta_ba, obs)[0])


def test_mlp_and_resnet():
  x = jax.random.normal(jax.random.PRNGKey(0), (5, 3))
  mlp = hk.without_apply_rng(hk.transform(lambda x: torsos.MLP(
      (8, 8), use_layer_norm=True, output_size=2)(x)))
  params = mlp.init(jax.random.PRNGKey(1), x)
  assert mlp.apply(params, x).shape == (5, 2)
  assert "mlp/layer_norm_1" in params

  resnet = hk.transform(lambda x, training: torsos.LNResNet(
      8, 2, 4, dropout_rate=0.5)(x, training))
  params = resnet.init(jax.random.PRNGKey(1), x, False)
  eval_a = resnet.apply(params, None, x, False)
  eval_b = resnet.apply(params, jax.random.PRNGKey(3), x, False)
  np.testing.assert_array_equal(eval_a, eval_b)  # no dropout at evaluation
  train = resnet.apply(params, jax.random.PRNGKey(3), x, True)
  assert train.shape == (5, 4) and not np.allclose(train, eval_a)


def test_unknown_activation():
  with pytest.raises(ValueError, match="activation='sigmoid' is unknown"):
    torsos.get_activation("sigmoid")
