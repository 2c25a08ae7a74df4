"""An ensemble of Q-functions with a pessimistic random-subset target.

Every member is a LayerNorm MLP on ``[encode(obs), flat action]``; the E
members' parameters are stacked on a leading axis and run with `jax.vmap`
(lifted into the Haiku transform with `hk.lift`, the Haiku ensemble idiom),
never a Python loop. The observation encoder (which holds parameters only for
images and task ids) is shared by the members and the optional value head.

The bootstrap target is the minimum over a random subset of ``m`` members
(REDQ, Chen et al., 2021; PA-RL uses E=10, m=2). `build_critic_network` is
the shared builder; the distributional critic plugs its own head into it.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import haiku as hk
import jax
import jax.numpy as jnp

from pa_rl import config_utils
from pa_rl import types
from pa_rl.networks import base
from pa_rl.networks import configs
from pa_rl.networks import torsos
from pa_rl.networks import utils

# head_to_q(head_out [E, B, K]) -> q [E, B].
HeadToQ = Callable[[jax.Array], jax.Array]
# member_loss(head_out [E, B, K], target_q [B]) -> per-member loss [E, B].
MemberLoss = Callable[[jax.Array, jax.Array], jax.Array]
REDUCTIONS = ("mean", "min")


def _lifted_ensemble(member_fn, size: int, name: str):
  """Returns ``f(x, members=None) -> [size, ...]``: ``member_fn`` with
  ``size`` independent parameter sets, vmapped (Haiku's `hk.lift` ensemble
  pattern). ``members`` (int indices ``[m]``) runs only those members,
  giving ``[m, ...]``: a random-subset target costs m members, not size."""
  member = hk.transform(member_fn)
  init_keys = hk.next_rng_keys(size) if hk.running_init() else None
  init_members = hk.lift(jax.vmap(member.init, in_axes=(0, None)), name=name)

  def ensemble(x, members=None):
    params = init_members(init_keys, x)
    if members is not None:
      params = jax.tree.map(lambda p: p[members], params)
    return jax.vmap(member.apply, in_axes=(0, None, None))(params, None, x)

  return ensemble


def build_critic_network(
    shape_meta: types.ShapeMeta,
    config: configs.EnsembleCriticConfig,
    *,
    kind: str,
    head_size: int,
    head_to_q: HeadToQ,
    member_loss: MemberLoss,
    extra_metrics: Callable[[jax.Array], dict[str, jax.Array]] | None = None,
) -> base.CriticNetwork:
  """Builds a `CriticNetwork` whose members output ``head_size`` numbers.

  Args:
    shape_meta: the data description.
    config: an `EnsembleCriticConfig` (or a subclass).
    kind: the critic type name.
    head_size: outputs per member (1 for a scalar Q, the bins otherwise).
    head_to_q: maps the members' outputs ``[E, B, head_size]`` to ``[E, B]``.
    member_loss: maps outputs and ``target_q`` ``[B]`` to losses ``[E, B]``.
    extra_metrics: optional metrics of the members' outputs.
  """
  ensemble_size = config.ensemble_size

  def fns():
    encoder = torsos.ObservationEncoder(shape_meta, config)
    member_fn = lambda x: torsos.MLP(
        config.hidden_sizes, activation=config.activation,
        use_layer_norm=config.layer_norm, output_size=head_size, name="q")(x)
    members = _lifted_ensemble(member_fn, ensemble_size, "q_ensemble")
    value_mlp = torsos.MLP(
        config.value_hidden_sizes, activation=config.activation,
        use_layer_norm=config.layer_norm, output_size=1, name="value")

    def heads(obs, flat_actions, subset=None):
      return members(jnp.concatenate([encoder(obs), flat_actions], axis=-1), subset)

    def state_value(obs):
      return value_mlp(encoder(obs))[..., 0]

    def template(obs, flat_actions):
      if config.value_head:
        state_value(obs)
      return heads(obs, flat_actions)

    return template, (heads, state_value)

  transformed = hk.without_apply_rng(hk.multi_transform(fns))
  heads_apply, value_apply = transformed.apply

  def _heads(params, obs, actions, subset=None):
    flat = utils.flatten_actions(jnp.asarray(actions, jnp.float32), shape_meta)
    return heads_apply(params, obs, flat, subset)

  def init(key: types.PRNGKey, obs: types.Observation, actions) -> types.Params:
    return transformed.init(key, obs, utils.flatten_actions(
        jnp.asarray(actions, jnp.float32), shape_meta))

  def q_values(params, obs, actions) -> jax.Array:
    """One Q per member, ``[E, B]``."""
    return head_to_q(_heads(params, obs, actions))

  def target_q(params, key, obs, actions) -> jax.Array:
    """Min over a random subset of ``target_subset_size`` members, ``[B]``."""
    subset = jax.random.permutation(key, ensemble_size)[:config.target_subset_size]
    # Only the drawn members are evaluated (the same values as indexing all E).
    return jnp.min(head_to_q(_heads(params, obs, actions, subset)), axis=0)

  def action_grad(params, obs, actions, reduce: str = "mean") -> jax.Array:
    """``d/da`` of the member-reduced Q (``"mean"`` or ``"min"``), summed
    over the batch so each row gets its own gradient."""
    if reduce not in REDUCTIONS:
      raise ValueError(f"reduce={reduce!r} is unknown; choose one of: "
                       f"{', '.join(REDUCTIONS)}")
    reducer = jnp.mean if reduce == "mean" else jnp.min

    def total_q(a):
      return jnp.sum(reducer(q_values(params, obs, a), axis=0))

    return jax.grad(total_q)(jnp.asarray(actions, jnp.float32))

  def loss(params, obs, actions, target_q):
    """Every member regressed onto ``target_q`` (gradient stopped); the
    per-member losses are summed over members and averaged over the batch."""
    out = _heads(params, obs, actions)
    target = jax.lax.stop_gradient(jnp.asarray(target_q, jnp.float32))
    if target.shape != out.shape[1:2]:
      raise ValueError(
          f"target_q has shape {target.shape}; expected ({out.shape[1]},)")
    per_member = jnp.mean(member_loss(out, target), axis=1)
    value = jnp.sum(per_member)
    q = head_to_q(out)
    metrics = {
        "loss": value,
        "loss_per_member": jnp.mean(per_member),
        "q_mean": jnp.mean(q),
        "q_min": jnp.mean(jnp.min(q, axis=0)),
        "q_ensemble_std": jnp.mean(jnp.std(q, axis=0)),
        "target_q_mean": jnp.mean(target),
        "abs_td_error": jnp.mean(jnp.abs(q - target)),
    }
    if extra_metrics is not None:
      metrics.update(extra_metrics(out))
    return value, metrics

  def value(params, obs) -> jax.Array:
    """The state value V(s), ``[B]``."""
    return value_apply(params, obs)

  return base.CriticNetwork(
      init=init, q_values=q_values, loss=loss, target_q=target_q,
      action_grad=action_grad, num_members=ensemble_size,
      shape_meta=shape_meta, kind=kind,
      value=value if config.value_head else None)


def make_ensemble_critic(
    shape_meta: types.ShapeMeta | Mapping[str, Any],
    config: configs.EnsembleCriticConfig | Mapping[str, Any] | None = None,
) -> base.CriticNetwork:
  """Builds the scalar-Q ensemble `CriticNetwork` (``kind="ensemble"``),
  trained by squared TD error (Mnih et al., 2015) on each member."""
  shape_meta = types.as_shape_meta(shape_meta)
  config = config_utils.make_config(configs.EnsembleCriticConfig, config)
  return build_critic_network(
      shape_meta, config, kind="ensemble", head_size=1,
      head_to_q=lambda out: out[..., 0],
      member_loss=lambda out, target: jnp.square(out[..., 0] - target))
