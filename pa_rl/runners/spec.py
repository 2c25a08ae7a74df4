"""What a run trains, saved as ``experiment.json`` in its workdir.

The spec holds everything needed to rebuild the run's networks, agent and
data from a workdir: `finetune_online` rebuilds the offline agent from the
offline workdir's spec, `evaluate` rebuilds any run's agent from its own, and
a resumed run checks that it still trains the same thing.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping

from pa_rl import config_utils
from pa_rl import file_utils
from pa_rl.agents import bc
from pa_rl.agents import calql
from pa_rl.agents import iql
from pa_rl.agents import networks as networks_lib
from pa_rl.agents import parl
from pa_rl.datasets import offline
from pa_rl.networks import registry

SPEC_FILE = "experiment.json"
# agent_type -> (builder class, config class); the names of `pa_rl.create_agent`.
AGENTS = {
    "imitation": (bc.ImitationBuilder, bc.ImitationConfig),
    "iql": (iql.IQLBuilder, iql.IQLConfig),
    "calql": (calql.CalQLBuilder, calql.CalQLConfig),
    "offline_rl": (parl.PARLBuilder, parl.PARLConfig),
    "diffusion_rl": (parl.PARLBuilder, parl.PARLConfig),
    "actor_critic": (parl.PARLBuilder, parl.ActorCriticConfig),
}
OFFLINE_AGENT_TYPES = ("imitation", "iql", "calql", "offline_rl", "diffusion_rl")
PARL_AGENT_TYPES = ("offline_rl", "diffusion_rl")
# Fields that decide what the checkpoints hold; a resumed run must match them.
_STRUCTURAL = ("phase", "agent_type", "policy_type", "policy_config", "critic_type",
               "critic_config", "normalize", "n_step", "action_horizon", "dataset_path")


@dataclasses.dataclass(frozen=True)
class ExperimentSpec:
  """A run's data, networks and agent.

  Attributes:
    phase: ``"offline"`` or ``"online"``.
    dataset_path: the RLDS dataset (offline data; online runs mix it in).
    env_name: the environment to evaluate (and, online, to act) in.
    env_kwargs: keyword arguments of `environments.make_environment`.
    agent_type: a key of `AGENTS`.
    policy_type: gaussian, diffusion, flow or autoregressive.
    policy_config: the policy's config dataclass.
    critic_type: ensemble, distributional, or None (imitation).
    critic_config: the critic's config dataclass, or None.
    agent_config: the agent's config dataclass.
    normalize: normalize observations and actions with the data's statistics.
    n_step: TD backup length of the data.
    action_horizon: actions per chunk.
    offline_workdir: for online runs, the offline run they start from.
  """
  phase: str
  dataset_path: str
  env_name: str | None
  env_kwargs: Mapping[str, Any]
  agent_type: str
  policy_type: str
  policy_config: Any
  critic_type: str | None
  critic_config: Any
  agent_config: Any
  normalize: bool = True
  n_step: int = 1
  action_horizon: int = 1
  offline_workdir: str | None = None

  @property
  def discount(self) -> float:
    """gamma of the data's n-step rewards and Monte-Carlo returns: the agent's."""
    return float(getattr(self.agent_config, "discount", 0.99))

  def to_json(self) -> dict[str, Any]:
    out = dataclasses.asdict(self)
    out["env_kwargs"] = dict(self.env_kwargs)
    return json.loads(json.dumps(out))  # Tuples -> lists, as read back.

  @classmethod
  def from_json(cls, data: Mapping[str, Any]) -> "ExperimentSpec":
    data = dict(data)
    agent_cls = _agent_config_class(data["agent_type"])
    data["agent_config"] = config_utils.make_config(agent_cls, data["agent_config"],
                                                    where="agent_config")
    data["policy_config"] = config_utils.make_config(
        registry.policy_config_class(data["policy_type"]), data["policy_config"],
        where="policy_config")
    if data.get("critic_type") is not None:
      data["critic_config"] = config_utils.make_config(
          registry.critic_config_class(data["critic_type"]), data["critic_config"],
          where="critic_config")
    return cls(**data)

  def load_dataset(self, seed: int) -> offline.OfflineDataset:
    """The offline data, with this spec's discount, n-step and chunking."""
    if not os.path.exists(self.dataset_path):
      env = self.env_name or "two_routes"
      raise FileNotFoundError(
          f"dataset_path={self.dataset_path!r} does not exist; collect one first, e.g.: "
          f"python -m pa_rl.binaries.collect --env={env} --policy=mixed "
          f"--output_dir={self.dataset_path}")
    return offline.OfflineDataset.load_from_path(
        self.dataset_path, normalize=self.normalize, seed=seed, discount=self.discount,
        n_step=self.n_step, action_horizon=self.action_horizon)

  def make_networks(self, shape_meta) -> networks_lib.AgentNetworks:
    return networks_lib.make_networks(
        shape_meta, policy_type=self.policy_type, policy_config=self.policy_config,
        critic_type=self.critic_type, critic_config=self.critic_config)

  def make_builder(self, shape_meta):
    """The agent's Acme builder (`bc.ImitationBuilder`, `parl.PARLBuilder`, ...)."""
    builder_cls, _ = AGENTS[self.agent_type]
    return builder_cls(self.agent_config, self.make_networks(shape_meta))


def _agent_config_class(agent_type: str) -> type:
  if agent_type not in AGENTS:
    raise ValueError(f"agent_type={agent_type!r} is unknown; choose one of: "
                     f"{', '.join(OFFLINE_AGENT_TYPES)}")
  return AGENTS[agent_type][1]


def resolve_config(cls: type, value: Any, what: str, owner: str) -> Any:
  """``cls`` from None, a partial dict or a dataclass (gin's included).

  The result is a plain ``cls`` (not gin's subclass), so it prints, compares
  and saves like one built by hand.
  """
  if (dataclasses.is_dataclass(value) and not isinstance(value, type)
      and not isinstance(value, cls)):
    raise ValueError(f"{what} is a {type(value).__name__}, but {owner} takes a "
                     f"{cls.__name__}")
  config = config_utils.make_config(cls, value, where=what)
  return cls(**dataclasses.asdict(config))


def make_spec(*, phase: str, dataset_path: str, env_name: str | None,
              env_kwargs: Mapping[str, Any] | None, agent_type: str, policy_type: str,
              policy_config: Any, critic_type: str | None, critic_config: Any,
              agent_config: Any, normalize: bool = True, n_step: int = 1,
              action_horizon: int = 1, offline_workdir: str | None = None) -> ExperimentSpec:
  """Validates a run's choices and resolves its configs into dataclasses."""
  agent_cls = _agent_config_class(agent_type)
  agent_config = resolve_config(agent_cls, agent_config, "agent_config",
                                f"agent_type={agent_type!r}")
  policy_config = resolve_config(registry.policy_config_class(policy_type), policy_config,
                                 "policy_config", f"policy_type={policy_type!r}")
  if agent_type == "imitation":
    if critic_type is not None or critic_config is not None:
      raise ValueError("agent_type='imitation' trains no critic; leave critic_type and "
                       f"critic_config unset (got critic_type={critic_type!r})")
  else:
    critic_type = critic_type or "ensemble"
    critic_config = resolve_config(registry.critic_config_class(critic_type), critic_config,
                                   "critic_config", f"critic_type={critic_type!r}")
    if ((agent_type == "iql" or getattr(agent_config, "critic_objective", "") == "iql")
        and not critic_config.value_head):  # IQL's V(s) lives in the critic.
      critic_config = dataclasses.replace(critic_config, value_head=True)
  if agent_type == "calql" and policy_type != "gaussian":
    raise ValueError(f"agent_type='calql' trains a SAC-style Gaussian policy; got "
                     f"policy_type={policy_type!r} (use 'offline_rl' for any policy class)")
  if agent_type == "diffusion_rl" and policy_type != "diffusion":
    raise ValueError(f"agent_type='diffusion_rl' needs policy_type='diffusion'; got "
                     f"{policy_type!r} (use 'offline_rl' for any policy class)")
  for name, value in (("n_step", n_step), ("action_horizon", action_horizon)):
    if not isinstance(value, int) or value < 1:
      raise ValueError(f"{name} must be an int >= 1; got {value!r}")
  if not dataset_path:
    raise ValueError("dataset_path is not set: bind train_offline.dataset_path to an RLDS "
                     "dataset directory (see `python -m pa_rl.binaries.collect`)")
  return ExperimentSpec(
      phase=phase, dataset_path=os.path.abspath(os.path.expanduser(dataset_path)),
      env_name=env_name, env_kwargs=dict(env_kwargs or {}), agent_type=agent_type,
      policy_type=policy_type, policy_config=policy_config, critic_type=critic_type,
      critic_config=critic_config, agent_config=agent_config, normalize=bool(normalize),
      n_step=n_step, action_horizon=action_horizon, offline_workdir=offline_workdir)


def read_spec(workdir: str) -> ExperimentSpec | None:
  """The spec saved in ``workdir``; None if there is none."""
  path = os.path.join(workdir, SPEC_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return ExperimentSpec.from_json(json.load(f))


def write_spec(workdir: str, spec: ExperimentSpec) -> None:
  """Saves ``spec``; refuses a workdir that holds a different run.

  A resumed run must be the run its checkpoints were trained by: any setting
  that differs from the saved spec is refused, hyperparameters such as
  learning rates included, and nothing is written. (Recording a change at
  step N instead would leave one run's curves, checkpoints and
  ``experiment.json`` describing two configurations; a new setting is a new
  run, in a new workdir.) What the spec does not hold (``num_steps``,
  ``max_seconds``, evaluation and logging cadence) may change on resume.

  Raises:
    ValueError: ``workdir`` holds a run whose networks, agent, data or
      hyperparameters differ; the message names each differing setting.
  """
  path = os.path.join(workdir, SPEC_FILE)
  new = spec.to_json()
  if not os.path.exists(path):
    file_utils.write_json_atomic(path, new, sort_keys=True)
    return
  with open(path) as f:
    old = json.load(f)
  try:  # Settings added to the configs since it was written take their defaults.
    old = ExperimentSpec.from_json(old).to_json()
  except (TypeError, ValueError, KeyError):
    pass
  changed = [k for k in _STRUCTURAL if old.get(k) != new.get(k)]
  if changed:
    raise ValueError(
        f"workdir {workdir} holds another run ({', '.join(changed)} differ from this "
        f"config's); use a new --workdir, or the same config to resume it")
  differences = _differences(old, new)
  if differences:
    shown = "; ".join(f"{name}: {a!r} -> {b!r}" for name, a, b in differences[:6])
    more = f" (and {len(differences) - 6} more)" if len(differences) > 6 else ""
    raise ValueError(
        f"workdir {workdir} holds a run trained with other settings ({shown}{more}); a "
        "resumed run keeps the settings its checkpoints were trained with. Resume with "
        "the same settings, or train these in a new --workdir")


def _differences(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
  """(dotted name, old value, new value) of every leaf that differs."""
  if isinstance(old, dict) and isinstance(new, dict):
    out = []
    for key in sorted(set(old) | set(new)):
      out += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
    return out
  return [] if old == new else [(prefix.rstrip("."), old, new)]
