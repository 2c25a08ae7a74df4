"""Shared pieces of the binaries' tests: tiny networks by gin binding, data."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Gin bindings that shrink each config class a gin file may use (tests only
# add those of the classes the file mentions, so none is a dead binding).
TINY = {
    "GaussianPolicyConfig": ["hidden_sizes = (8,)"],
    "DiffusionPolicyConfig": ["hidden_dim = 8", "num_blocks = 1", "num_diffusion_steps = 2",
                              "time_dim = 4"],
    "FlowPolicyConfig": ["hidden_dim = 8", "num_blocks = 1", "num_flow_steps = 2",
                         "time_dim = 4"],
    "AutoregressivePolicyConfig": ["num_bins = 8", "num_layers = 1", "num_heads = 1",
                                   "embed_dim = 8", "mlp_ratio = 1"],
    "EnsembleCriticConfig": ["hidden_sizes = (8,)", "value_hidden_sizes = (8,)",
                             "ensemble_size = 2"],
    "DistributionalCriticConfig": ["hidden_sizes = (8,)", "ensemble_size = 2",
                                   "num_bins = 8"],
    "ImitationConfig": ["batch_size = 4"],
    "IQLConfig": ["batch_size = 4"],
    "CalQLConfig": ["batch_size = 4", "num_cql_actions = 1"],
    "PARLConfig": ["batch_size = 4", "num_cql_actions = 1"],
    "ActionOptimizationConfig": ["num_samples = 2", "top_k = 1", "num_steps = 1"],
}


def tiny_bindings(config_text: str) -> list[str]:
  """Bindings that shrink every config class named in ``config_text``."""
  out = []
  for cls, bindings in TINY.items():
    if re.search(rf"\b{cls}\b", config_text):
      out += [f"{cls}.{b}" for b in bindings]
  return out


def binding_names(config_text: str) -> set[str]:
  """``Class.param`` (or macro) names bound in a gin config string."""
  names = set()
  for line in config_text.splitlines():
    match = re.match(r"^([A-Za-z_][\w./]*)\s*=", line)
    if match:
      name = match.group(1)
      scope, _, selector = name.rpartition("/")
      short = ".".join(selector.split(".")[-2:])  # Drop module prefixes.
      names.add(f"{scope}/{short}" if scope else short)
  return names


def run_binary(name, args, cwd):
  """Runs a binary in a subprocess (the environment carries the run's JAX
  compilation cache, see tests/conftest.py)."""
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "2"}
  return subprocess.run([sys.executable, "-m", f"pa_rl.binaries.{name}", *args], cwd=str(cwd),
                        env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def clean_gin():
  import gin  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  yield
  gin.clear_config()


# The helpers as fixtures: test modules here share them without importing
# this conftest by name.
@pytest.fixture(name="tiny_bindings", scope="session")
def tiny_bindings_fixture():
  return tiny_bindings


@pytest.fixture(name="binding_names", scope="session")
def binding_names_fixture():
  return binding_names


@pytest.fixture(name="run_binary", scope="session")
def run_binary_fixture():
  return run_binary
