"""One jitted pure update for every agent: ``update_step(state, batch)``.

An agent is an `Objective` (which critic loss, which policy loss) plus its
config. Imitation, IQL, Cal-QL and PA-RL all go through `make_update_step`, so
both faces of the library (the Acme learners and the seed's
``agent.update``) run the same code.

Order within a step: critic (TD target from the target critic), then policy
(against the freshly updated critic), then the target critic and the EMA.
A step whose losses, gradients or new parameters are not finite is skipped — the state comes
back unchanged — and flagged in ``metrics["train/nonfinite"]`` without any
host synchronization; the learner decides whether to stop.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from pa_rl import action_optimization as ao
from pa_rl import types
from pa_rl.agents import losses
from pa_rl.agents import state as state_lib
from pa_rl.networks import base

CRITIC_OBJECTIVES = ("none", "iql", "calql", "sac")
POLICY_OBJECTIVES = ("bc", "awr", "sac", "distill")
UpdateFn = Callable[[state_lib.TrainingState, types.Transition],
                    tuple[state_lib.TrainingState, dict[str, jax.Array]]]


@dataclasses.dataclass(frozen=True)
class Objective:
  """What an agent optimizes.

  Attributes:
    critic: ``"none"``, ``"iql"``, ``"calql"`` or ``"sac"`` (soft TD
      targets from policy samples; online SAC).
    policy: ``"bc"`` (own loss on data actions), ``"awr"`` (IQL's
      advantage-weighted own loss), ``"sac"`` (reparameterized Q - entropy;
      Gaussian only), or ``"distill"`` (PA-RL: own loss on optimized actions).
  """
  critic: str
  policy: str

  def __post_init__(self):
    if self.critic not in CRITIC_OBJECTIVES:
      raise ValueError(f"critic objective {self.critic!r} is unknown; choose one of: "
                       f"{', '.join(CRITIC_OBJECTIVES)}")
    if self.policy not in POLICY_OBJECTIVES:
      raise ValueError(f"policy objective {self.policy!r} is unknown; choose one of: "
                       f"{', '.join(POLICY_OBJECTIVES)}")
    if self.critic == "none" and self.policy != "bc":
      raise ValueError(f"policy objective {self.policy!r} needs a critic")


def make_optimizer(learning_rate: float, grad_clip: float) -> optax.GradientTransformation:
  chain = [optax.clip_by_global_norm(grad_clip)] if grad_clip > 0 else []
  return optax.chain(*chain, optax.adam(learning_rate))


def sampling_params(policy: base.PolicyNetwork, state: state_lib.TrainingState) -> Any:
  """Parameters to sample with: EMA for policies that ask for it."""
  return state.ema_params if policy.uses_ema else state.policy_params


def init_state(policy_params: Any, critic_params: Any, config: Any,
               key: jax.Array) -> state_lib.TrainingState:
  """A fresh state (optimizer moments at zero) around given parameters."""
  policy_opt = make_optimizer(config.policy_lr, config.grad_clip)
  critic_state = (None, None, None)
  if critic_params is not None:
    critic_opt = make_optimizer(config.critic_lr, config.grad_clip)
    critic_state = (critic_params, jax.tree.map(jnp.copy, critic_params),
                    critic_opt.init(critic_params))
  return state_lib.TrainingState(
      policy_params=policy_params, policy_opt_state=policy_opt.init(policy_params),
      ema_params=jax.tree.map(jnp.copy, policy_params),
      critic_params=critic_state[0], critic_target_params=critic_state[1],
      critic_opt_state=critic_state[2], key=key, step=jnp.zeros((), jnp.int32))


def _finite(*trees) -> jax.Array:
  leaves = [jnp.all(jnp.isfinite(x)) for t in trees for x in jax.tree.leaves(t)
            if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
  return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def _apply(optimizer, params, opt_state, grads):
  """``(new params, new optimizer state)`` after one optimizer step."""
  updates, opt_state = optimizer.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state


def _descend(loss_fn, optimizer, params, opt_state, *args):
  """One optimizer step on ``loss_fn(params, *args) -> (loss, metrics)``."""
  (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, *args)
  return (*_apply(optimizer, params, opt_state, grads), loss, metrics, grads)


# Critic rows (members x actions x states) per chunk of a chunked loss: small
# enough that a chunk's activations stay in the CPU caches, large enough for
# efficient matrix products.
_ROWS_PER_CHUNK = 2048


def _num_chunks(batch_size: int, rows_per_example: int) -> int:
  """The fewest chunks (a divisor of the batch) of at most `_ROWS_PER_CHUNK` rows."""
  for chunks in range(1, batch_size + 1):
    if batch_size % chunks == 0 and (batch_size // chunks) * rows_per_example <= _ROWS_PER_CHUNK:
      return chunks
  return batch_size


def _chunked_value_and_grad(loss_fn, params, per_example, num_chunks: int):
  """``value_and_grad(loss_fn, has_aux=True)(params, per_example)`` for a loss
  (and metrics) that is a mean over the examples, computed ``num_chunks``
  examples-chunks at a time in a `lax.scan` and averaged.

  The same value as one pass over the whole batch (up to summation order);
  each chunk's forward and backward pass run back to back on data that fits
  in cache, where the whole batch's activations would not.
  """
  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
  if num_chunks == 1:
    return grad_fn(params, per_example)
  chunks = jax.tree.map(lambda x: x.reshape(num_chunks, x.shape[0] // num_chunks,
                                            *x.shape[1:]), per_example)

  def body(total, chunk):
    return jax.tree.map(jnp.add, total, grad_fn(params, chunk)), None

  first = jax.tree.map(lambda x: x[0], chunks)
  zeros = jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype),
                       jax.eval_shape(grad_fn, params, first))
  total, _ = jax.lax.scan(body, zeros, chunks)
  return jax.tree.map(lambda x: x / num_chunks, total)


def _every(period: int, step: jax.Array, phase, new):
  """``phase(new) -> (new, metrics, checks)`` on every ``period``-th update
  (the update that takes ``step`` to a multiple of ``period``, so metrics
  logged at such steps are the phase's own); otherwise ``new`` unchanged,
  NaN metrics (nothing was measured) and zero checks. Only the taken branch
  runs."""

  def skip(n):
    _, metrics, checks = jax.eval_shape(phase, n)
    return (n, jax.tree.map(lambda x: jnp.full(x.shape, jnp.nan, x.dtype), metrics),
            jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), checks))

  return jax.lax.cond((step + 1) % period == 0, phase, skip, new)


def make_update_step(policy: base.PolicyNetwork, critic: base.CriticNetwork | None,
                     config: Any, objective: Objective) -> UpdateFn:
  """Builds the pure ``update_step(state, batch) -> (state, metrics)``.

  Args:
    policy: the policy network (any class).
    critic: the critic network, or None for imitation.
    config: the agent's config (fields read depend on the objective).
    objective: which losses to optimize.

  The returned function also carries ``update_step.phases``, the parts of one
  update as separate pure functions for profiling: ``critic_update(state,
  batch) -> state`` and, for PA-RL, ``action_optimization(state, batch) ->
  targets`` and ``distillation(state, batch, targets) -> state``.
  """
  if objective.critic != "none" and critic is None:
    raise ValueError(f"critic objective {objective.critic!r} needs a critic")
  if objective.critic == "iql" and critic.value is None:
    raise ValueError("IQL needs a critic with a state-value head; build the critic with "
                     "config {'value_head': True}")
  if (objective.critic == "sac" or objective.policy == "sac") and policy.log_prob is None:
    raise ValueError(f"the SAC objective needs a policy with a log-density; policy kind "
                     f"{policy.kind!r} has none (use the gaussian policy)")
  policy_opt = make_optimizer(config.policy_lr, config.grad_clip)
  critic_opt = (make_optimizer(config.critic_lr, config.grad_clip)
                if critic is not None else None)
  ao_config = getattr(config, "action_optimization", None)
  # PA-RL may optimize the TD target's and the distillation's actions with
  # their own settings (`PARLConfig.target_ao` / `distill_ao`).
  target_ao = getattr(config, "target_ao", ao_config)
  distill_ao = getattr(config, "distill_ao", ao_config)
  distill_source = getattr(config, "distill_source", "optimized")
  distill_every = getattr(config, "distill_every", 1)

  def optimized(state, params, key, obs, mode, settings, dataset_actions=None):
    return ao.optimize_actions(policy, sampling_params(policy, state), critic, params, key,
                               obs, settings, mode=mode, dataset_actions=dataset_actions)

  def critic_loss(params, state, batch, key):
    if objective.critic == "iql":
      next_value = None
      if getattr(config, "iql_bootstrap", "value") == "action_optimization":
        next_actions, _ = optimized(state, state.critic_params, key, batch.next_observation,
                                    ao.ARGMAX, target_ao)
        next_value = critic.target_q(state.critic_target_params, key,
                                     batch.next_observation, next_actions)
      return losses.iql_critic_loss(critic, params, state.critic_target_params, key, batch,
                                    config.expectile, next_value)
    if objective.critic == "sac":
      sample_key, target_key = jax.random.split(key)
      next_actions = policy.sample(state.policy_params, sample_key, batch.next_observation,
                                   1)[:, 0]
      next_log_prob = policy.log_prob(state.policy_params, batch.next_observation,
                                      next_actions)
      return losses.sac_critic_loss(
          critic, params, state.critic_target_params, target_key, batch,
          jax.lax.stop_gradient(next_actions), jax.lax.stop_gradient(next_log_prob),
          config.entropy_alpha)
    raise AssertionError("Cal-QL runs through calql_inputs and calql_loss")

  def calql_inputs(state, batch, key):
    """Everything of Cal-QL's loss that does not depend on the critic's
    parameters (bootstrap actions, CQL actions), drawn once per update."""
    next_key, pi_key, pi_next_key, random_key, loss_key = jax.random.split(key, 5)
    if objective.policy == "sac":  # Cal-QL's own bootstrap: a policy sample.
      next_actions = policy.sample(state.policy_params, next_key, batch.next_observation, 1)[:, 0]
      ao_metrics = {}
    else:
      next_actions, ao_metrics = optimized(state, state.critic_params, next_key,
                                           batch.next_observation, ao.ARGMAX, target_ao)
    sample_params = sampling_params(policy, state)
    n = config.num_cql_actions
    policy_actions = policy.sample(sample_params, pi_key, batch.observation, n)
    next_policy_actions = policy.sample(sample_params, pi_next_key, batch.next_observation, n)
    random_actions = jax.random.uniform(random_key, policy_actions.shape, minval=-1, maxval=1)
    per_example = (batch, jax.lax.stop_gradient(next_actions), policy_actions,
                   next_policy_actions, random_actions)
    return per_example, loss_key, {f"target_{k}": v for k, v in ao_metrics.items()}

  def calql_loss(params, target_params, loss_key, per_example):
    return losses.calql_critic_loss(
        critic, params, target_params, loss_key, *per_example, alpha=config.cql_alpha,
        use_calibration=config.use_calibration)

  def advantage_weights(state, batch, key):
    """IQL's weights ``exp(beta (Q - V))`` of the data's actions (the ``"awr"``
    objective and PA-RL's ``"advantage_weighted"`` distillation)."""
    q = critic.target_q(state.critic_target_params, key, batch.observation, batch.action)
    v = critic.value(state.critic_params, batch.observation)
    return losses.awr_weights(q, v, config.awr_temperature)

  def policy_loss(params, state, batch, key):
    if objective.policy == "bc":
      return losses.bc_loss(policy, params, key, batch)
    if objective.policy == "awr":
      weights = advantage_weights(state, batch, key)
      loss, metrics = losses.bc_loss(policy, params, key, batch, weights)
      return loss, {**metrics, "policy/awr_weight": weights.mean()}
    if objective.policy == "sac":
      return losses.sac_policy_loss(policy, params, critic, state.critic_params, key,
                                    batch.observation, config.entropy_alpha)
    raise AssertionError("distillation runs through distill_loss")

  def distill_targets(state, batch, key):
    """PA-RL's distillation targets (no gradient flows into them); the data's
    actions with ``distill_source="dataset"`` or ``"advantage_weighted"``."""
    if distill_source != "optimized":
      return batch.action, {}
    opt_key, _ = jax.random.split(key)
    targets, ao_metrics = optimized(
        state, state.critic_params, opt_key, batch.observation, ao.SOFTMAX, distill_ao,
        dataset_actions=batch.action)
    return jax.lax.stop_gradient(targets), ao_metrics

  def distill_loss(params, batch, targets, key, weights=None):
    _, loss_key = jax.random.split(key)
    loss, metrics = policy.loss(params, loss_key, batch.observation, targets, weights)
    metrics = {f"policy/{k}": v for k, v in metrics.items()}
    if weights is not None:
      metrics["policy/awr_weight"] = weights.mean()
    return loss, {**metrics, "policy/loss": loss}

  def critic_phase(state, new, batch, key):
    """The critic's optimizer step and target update, on ``new``."""
    if objective.critic == "calql":
      per_example, loss_key, extra = calql_inputs(state, batch, key)
      num_chunks = _num_chunks(batch.action.shape[0],
                               critic.num_members * (3 * config.num_cql_actions + 2))
      (c_loss, c_metrics), c_grads = _chunked_value_and_grad(
          lambda p, chunk: calql_loss(p, state.critic_target_params, loss_key, chunk),
          state.critic_params, per_example, num_chunks)
      critic_params, critic_opt_state = _apply(critic_opt, state.critic_params,
                                               state.critic_opt_state, c_grads)
      c_metrics = {**c_metrics, **extra}
    else:
      critic_params, critic_opt_state, c_loss, c_metrics, c_grads = _descend(
          critic_loss, critic_opt, state.critic_params, state.critic_opt_state, state, batch,
          key)
    new = new._replace(
        critic_params=critic_params, critic_opt_state=critic_opt_state,
        critic_target_params=state_lib.polyak(state.critic_target_params, critic_params,
                                              config.tau))
    return new, {**c_metrics, "critic/loss": c_loss}, [c_loss, c_grads]

  def policy_phase(state, new, batch, key, targets=None):
    """The policy's optimizer step and EMA, on ``new`` (whose critic is the
    freshly updated one); ``targets`` are PA-RL's distillation targets."""
    ao_metrics = {}
    if objective.policy == "distill":
      if targets is None:
        targets, ao_metrics = distill_targets(new, batch, key)
      weights = (advantage_weights(new, batch, key)
                 if distill_source == "advantage_weighted" else None)
      loss_fn, args = distill_loss, (batch, targets, key, weights)
    else:
      loss_fn, args = policy_loss, (new, batch, key)
    policy_params, policy_opt_state, p_loss, p_metrics, p_grads = _descend(
        loss_fn, policy_opt, state.policy_params, state.policy_opt_state, *args)
    new = new._replace(
        policy_params=policy_params, policy_opt_state=policy_opt_state,
        ema_params=state_lib.polyak(state.ema_params, policy_params, 1.0 - config.ema_decay))
    metrics = {**p_metrics, **ao_metrics, "policy/grad_norm": optax.tree.norm(p_grads)}
    return new, metrics, [p_loss, p_grads]

  def update_step(state: state_lib.TrainingState, batch: types.Transition):
    key, critic_key, policy_key = jax.random.split(state.key, 3)
    metrics = {}
    new = state._replace(key=key, step=state.step + 1)
    grads_to_check = []
    if critic is not None and objective.critic != "none":
      new, c_metrics, checks = critic_phase(state, new, batch, critic_key)
      metrics.update(c_metrics)
      grads_to_check += checks
    if distill_every == 1:
      new, p_metrics, checks = policy_phase(state, new, batch, policy_key)
    else:
      new, p_metrics, checks = _every(distill_every, state.step,
                                      lambda n: policy_phase(state, n, batch, policy_key), new)
    metrics.update(p_metrics)
    grads_to_check += checks
    # Losses, gradients and the parameters they produced (an overflowing
    # optimizer step turns finite gradients into infinite parameters).
    finite = _finite(*grads_to_check, new.policy_params, new.critic_params)
    # A non-finite step leaves everything but the RNG and step count as it was.
    new = jax.tree.map(lambda n, o: jnp.where(finite, n, o), new,
                       state._replace(key=key, step=state.step + 1))
    metrics["train/nonfinite"] = jnp.logical_not(finite).astype(jnp.float32)
    return new, metrics

  # The phases of one update as separate functions (for profiling): the same
  # code and keys as `update_step`, without the non-finite guard.
  def critic_update(state, batch):
    _, critic_key, _ = jax.random.split(state.key, 3)
    return critic_phase(state, state, batch, critic_key)[0]

  def action_optimization(state, batch):
    _, _, policy_key = jax.random.split(state.key, 3)
    return distill_targets(state, batch, policy_key)[0]

  def distillation(state, batch, targets):
    _, _, policy_key = jax.random.split(state.key, 3)
    return policy_phase(state, state, batch, policy_key, targets)[0]

  update_step.phases = {"critic_update": critic_update}
  if objective.policy == "distill":
    update_step.phases.update(action_optimization=action_optimization,
                              distillation=distillation)
  return update_step


def make_multi_update_step(policy: base.PolicyNetwork, critic: base.CriticNetwork | None,
                           config: Any, objective: Objective, num_updates: int) -> UpdateFn:
  """Builds ``multi_update(state, batches) -> (state, metrics)``: ``num_updates``
  consecutive `make_update_step` updates fused into one XLA computation.

  The steps run in a `jax.lax.scan`, so one jitted call (one dispatch, no
  host round trip between steps) does the work of ``num_updates`` calls of
  the single step, with the same result.

  Args:
    policy, critic, config, objective: as for `make_update_step`.
    num_updates: updates per call (>= 1).

  Returns:
    A pure function of a state and a `Transition` whose every leaf has a
    leading axis of size ``num_updates`` (batch ``i`` feeds update ``i``).
    Its metrics are those of the last update or, when an update was skipped
    as non-finite, of the first such update (so its non-finite losses show),
    with ``train/nonfinite`` 1 when any of the updates was skipped and
    ``train/nonfinite_count``, how many were.
  """
  if num_updates < 1:
    raise ValueError(f"num_updates must be >= 1; got {num_updates}")
  single = make_update_step(policy, critic, config, objective)

  def multi_update(state: state_lib.TrainingState, batches: types.Transition):
    sizes = {x.shape[0] for x in jax.tree.leaves(batches)}
    if sizes != {num_updates}:
      raise ValueError(f"batches must have a leading axis of num_updates={num_updates} "
                       f"on every field; got leading sizes {sorted(sizes)}")

    def body(carry, batch):
      state, skipped = carry
      state, metrics = single(state, batch)
      return (state, skipped + metrics["train/nonfinite"]), metrics

    # Stacking every step's metrics is cheap (a few scalars per step).
    (state, skipped), stacked = jax.lax.scan(
        body, (state, jnp.zeros((), jnp.float32)), batches)
    index = jnp.where(skipped > 0, jnp.argmax(stacked["train/nonfinite"] > 0),
                      num_updates - 1)
    metrics = jax.tree.map(lambda x: x[index], stacked)
    metrics["train/nonfinite"] = (skipped > 0).astype(jnp.float32)
    metrics["train/nonfinite_count"] = skipped
    return state, metrics

  return multi_update
