"""The one module that imports gin: the library's gin names, and config parsing.

Library modules stay gin-free; this module registers their runners and config
dataclasses under stable gin names (listed in the README):

  runners.train_offline    runners.finetune_online    runners.evaluate
  networks.GaussianPolicyConfig       networks.DiffusionPolicyConfig
  networks.AutoregressivePolicyConfig networks.EnsembleCriticConfig
  networks.DistributionalCriticConfig  networks.FlowPolicyConfig
  agents.ImitationConfig  agents.IQLConfig  agents.CalQLConfig
  agents.PARLConfig       agents.ActorCriticConfig  agents.SACConfig
  agents.ActionOptimizationConfig

Gin files may use the short names (``train_offline.num_steps = 1000``,
``DiffusionPolicyConfig.hidden_dim = 64``). The packaged files live in
`CONFIG_DIR`; ``include 'base/offline.gin'`` resolves against it.
"""

from __future__ import annotations

import os
from typing import Sequence

import gin

from pa_rl import action_optimization
from pa_rl import file_utils
from pa_rl import runners
from pa_rl.agents import bc
from pa_rl.agents import calql
from pa_rl.agents import iql
from pa_rl.agents import parl
from pa_rl.agents import sac
from pa_rl.networks import configs as network_configs

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")

train_offline = gin.external_configurable(runners.train_offline, module="runners")
finetune_online = gin.external_configurable(runners.finetune_online, module="runners")
evaluate = gin.external_configurable(runners.evaluate, module="runners")

for _cls in (network_configs.GaussianPolicyConfig, network_configs.DiffusionPolicyConfig,
             network_configs.AutoregressivePolicyConfig, network_configs.EnsembleCriticConfig,
             network_configs.DistributionalCriticConfig, network_configs.FlowPolicyConfig):
  gin.external_configurable(_cls, module="networks")
for _cls in (bc.ImitationConfig, iql.IQLConfig, calql.CalQLConfig, parl.PARLConfig,
             parl.ActorCriticConfig, sac.SACConfig,
             action_optimization.ActionOptimizationConfig):
  gin.external_configurable(_cls, module="agents")


class GinConfigError(ValueError):
  """A gin file or binding cannot be parsed (unknown name, bad syntax...)."""


def packaged_configs() -> list[str]:
  """The packaged gin files, relative to `CONFIG_DIR` (``base/`` excluded:
  those are included by the others)."""
  found = []
  for root, _, files in os.walk(CONFIG_DIR):
    for name in files:
      if name.endswith(".gin"):
        rel = os.path.relpath(os.path.join(root, name), CONFIG_DIR)
        if not rel.startswith("base" + os.sep):
          found.append(rel.replace(os.sep, "/"))
  return sorted(found)


def resolve_gin_file(name: str) -> str:
  """A path as given if it exists, else a packaged config (``.gin`` optional).

  Raises:
    GinConfigError: neither exists; the message lists the packaged configs.
  """
  if os.path.isfile(name):
    return os.path.abspath(name)
  for candidate in (name, name + ".gin"):
    path = os.path.join(CONFIG_DIR, candidate)
    if os.path.isfile(path):
      return path
  raise GinConfigError(f"gin file {name!r} is neither a file nor a packaged config; packaged "
                       f"configs: {', '.join(packaged_configs())}")


def _search_packaged_configs_first() -> None:
  """Makes ``include 'base/offline.gin'`` find the packaged file.

  `gin.add_config_file_search_path` appends, so gin would first look for the
  include relative to the working directory and log an error line when it is
  not there; the packaged directory goes first instead (gin 0.5's list).
  """
  gin.add_config_file_search_path(CONFIG_DIR)
  prefixes = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
  while CONFIG_DIR in prefixes:
    prefixes.remove(CONFIG_DIR)
  prefixes.insert(0, CONFIG_DIR)


def parse(gin_files: Sequence[str] = (), gin_bindings: Sequence[str] = (), *,
          finalize: bool = True) -> None:
  """Parses gin files and bindings; every name must exist (``skip_unknown=False``).

  Args:
    gin_files: paths or packaged config names.
    gin_bindings: binding strings, applied after the files.
    finalize: lock the config afterwards (False lets tests add bindings).

  Raises:
    GinConfigError: naming the offending binding, file or line.
  """
  _search_packaged_configs_first()
  paths = [resolve_gin_file(f) for f in gin_files or ()]
  # What gin.parse_config_files_and_bindings does, one binding at a time, so
  # an error can quote the binding it comes from.
  steps = [(f"gin file {p}", lambda p=p: gin.parse_config_file(p, skip_unknown=False))
           for p in paths]
  steps += [(f"--gin_bindings={b!r}", lambda b=b: gin.parse_config(b, skip_unknown=False))
            for b in gin_bindings or ()]
  if finalize:
    steps.append(("the gin config", gin.finalize))
  for where, step in steps:
    try:
      step()
    except (ValueError, KeyError, SyntaxError, IOError) as e:
      raise GinConfigError(f"invalid gin config in {where}: {e}") from e
    except Exception as e:  # tokenize.TokenError and friends on malformed text.
      raise GinConfigError(f"invalid gin config in {where} ({type(e).__name__}): {e}") from e


def write_config(directory: str) -> str:
  """Writes ``config.gin``: the bindings that were parsed (files + flags)."""
  return _write(directory, "config.gin", gin.config_str())


def write_operative_config(directory: str) -> str:
  """Writes ``operative_config.gin``: every value used so far, defaults included."""
  return _write(directory, "operative_config.gin", gin.operative_config_str())


def _write(directory: str, filename: str, text: str) -> str:
  os.makedirs(directory, exist_ok=True)
  return file_utils.write_text_atomic(os.path.join(directory, filename), text)
