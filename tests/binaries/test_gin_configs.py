"""Every packaged gin file parses, trains 2 steps, and has no dead binding.

Offline configs run on a tiny fake RLDS dataset (their dataset and
environment bindings overridden, so no MuJoCo is needed); online configs
fine-tune a tiny offline two_routes run for 2 updates. Network sizes are
shrunk by extra bindings of the config classes each file uses.
"""

import os

import gin
import numpy as np
import pytest

from pa_rl import gin_registration
from pa_rl import metrics_writer
from pa_rl import types
from pa_rl.testing import fakes

CONFIGS = gin_registration.packaged_configs()
OFFLINE = [c for c in CONFIGS if not c.startswith("online/")]
ONLINE = [c for c in CONFIGS if c.startswith("online/")]


@pytest.fixture(scope="module")
def fake_dataset(tmp_path_factory):
  """Random episodes shaped like two_routes' (so the compiled programs are
  shared with the other tests through the compilation cache)."""
  path = str(tmp_path_factory.mktemp("fake") / "ds")
  fakes.write_dataset(path, (5, 7, 4), action_dim=2,
                      observation_spec={"position": types.ObsSpec((2,)),
                                        "goal": types.ObsSpec((2,))})
  return path


def _run_offline(config, dataset, workdir, tiny_bindings, extra=()):
  gin_registration.parse([config], finalize=False)
  assert gin.query_parameter("train_offline.agent_type")  # The file chose an agent.
  gin.parse_config(tiny_bindings(gin.config_str()) + [
      f"train_offline.dataset_path = '{dataset}'", "train_offline.env_name = None",
      "train_offline.num_steps = 2", "train_offline.log_every = 1",
      "train_offline.checkpoint_every = 2", "train_offline.eval_every = 0", *extra])
  return gin_registration.train_offline(workdir=workdir)


def _check_no_dead_bindings(binding_names):
  dead = binding_names(gin.config_str()) - binding_names(gin.operative_config_str())
  assert not dead, f"bindings that nothing used: {sorted(dead)}"


def test_the_configs_the_readme_and_issue_name_are_packaged():
  for name in ("parl/diffusion_calql_pointmaze.gin", "bc/gaussian_builtin.gin",
               "parl/autoregressive_iql_cheetah.gin", "parl/diffusion_calql_builtin.gin",
               "online/builtin.gin"):
    assert name in CONFIGS
  with open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")) as f:
    readme = f.read()
  missing = [c for c in CONFIGS if c not in readme]
  assert not missing, f"configs the README does not list: {missing}"


def test_every_base_file_is_included_by_a_config():
  base = sorted(os.listdir(os.path.join(gin_registration.CONFIG_DIR, "base")))
  texts = ""
  for config in CONFIGS:
    with open(os.path.join(gin_registration.CONFIG_DIR, config)) as f:
      texts += f.read()
  assert base and all(f"include 'base/{b}'" in texts for b in base), base


@pytest.mark.parametrize("config", OFFLINE)
def test_offline_config_parses_trains_two_steps_without_dead_bindings(
    config, fake_dataset, tmp_path, clean_gin, tiny_bindings, binding_names):
  del clean_gin
  workdir = str(tmp_path / "run")
  summary = _run_offline(config, fake_dataset, workdir, tiny_bindings)
  assert summary["step"] == 2 and not summary["finished_before"]
  assert os.path.exists(os.path.join(workdir, "checkpoints", "ckpt_2.npz"))
  rows = metrics_writer.read_csv(os.path.join(workdir, "train.csv"))
  assert [r["step"] for r in rows] == [1, 2]
  assert all(np.isfinite(r["policy/loss"]) for r in rows)
  _check_no_dead_bindings(binding_names)


def test_a_dead_binding_would_be_caught(fake_dataset, tmp_path, clean_gin, tiny_bindings,
                                        binding_names):
  del clean_gin
  _run_offline("bc/gaussian_builtin.gin", fake_dataset, str(tmp_path / "run"), tiny_bindings,
               extra=["agents.PARLConfig.batch_size = 4"])  # BC never builds a PARLConfig.
  dead = binding_names(gin.config_str()) - binding_names(gin.operative_config_str())
  assert dead == {"PARLConfig.batch_size"}


# The offline config each online config starts from (default: the quickstart's).
OFFLINE_FOR_ONLINE = {"online/ogbench.gin": "parl/diffusion_iql_ogbench.gin",
                      "online/ogbench_navigate.gin": "parl/diffusion_iql_ogbench_navigate.gin"}


@pytest.fixture(scope="module")
def offline_workdir(two_routes_data, tmp_path_factory, tiny_bindings):
  """Tiny PA-RL offline runs on two_routes for the online configs to start
  from, one per offline config (made on first use)."""
  made = {}

  def make(config):
    if config not in made:
      gin.clear_config()
      gin_registration.parse([config], finalize=False)
      gin.parse_config(tiny_bindings(gin.config_str()) + [
          f"train_offline.dataset_path = '{two_routes_data}'", "train_offline.num_steps = 2",
          "train_offline.eval_every = 0", "train_offline.env_name = None"])
      made[config] = str(tmp_path_factory.mktemp("offline") / "run")
      gin_registration.train_offline(workdir=made[config])
      gin.clear_config()
    return made[config]

  return make


@pytest.mark.parametrize("config", ONLINE)
def test_online_config_parses_trains_two_steps_without_dead_bindings(
    config, offline_workdir, tmp_path, clean_gin, binding_names):
  del clean_gin
  offline = offline_workdir(OFFLINE_FOR_ONLINE.get(config, "parl/diffusion_calql_builtin.gin"))
  gin_registration.parse([config], finalize=False)
  gin.parse_config(["finetune_online.num_episodes = 1", "finetune_online.eval_every = 0",
                    "finetune_online.env_kwargs = {'max_steps': 2}"])
  workdir = str(tmp_path / "online")
  summary = gin_registration.finetune_online(workdir=workdir, offline_workdir=offline)
  assert summary["step"] == 2 + 2  # Offline steps + 2 online updates (UTD 1, 2 steps).
  rows = metrics_writer.read_csv(os.path.join(workdir, "online.csv"))
  assert len(rows) == 1 and rows[0]["online/env_steps"] == 2
  _check_no_dead_bindings(binding_names)


@pytest.mark.parametrize("config, discount", [
    # Multi-stage manipulation (scene-play's default task) needs the longer
    # horizon; the navigation preset keeps the 0.99 it was measured with.
    ("parl/diffusion_iql_ogbench.gin", 0.995),
    ("parl/autoregressive_iql_ogbench.gin", 0.995),
    ("parl/diffusion_iql_ogbench_navigate.gin", 0.99)])
def test_ogbench_presets_set_the_discount_measured(config, discount, clean_gin):
  del clean_gin
  gin_registration.parse([config], finalize=False)
  assert gin.query_parameter("agents.PARLConfig.discount") == discount


@pytest.mark.parametrize("method, discount", [
    # The benchmark's rows measured before the presets' change rerun at 0.99.
    ("parl", 0.99), ("parl_w256", 0.99), ("parl_g995", 0.995),
    ("parl_ar", 0.99), ("parl_ar_navigate", 0.99), ("parl_ar_g995", 0.995)])
def test_ogbench_benchmark_methods_rerun_at_the_discount_measured(method, discount, clean_gin):
  del clean_gin
  from benchmarks import ogbench  # pylint: disable=g-import-not-at-top
  config, bindings = ogbench.METHODS[method]
  assert config in ("parl/diffusion_iql_ogbench", "parl/autoregressive_iql_ogbench")
  gin_registration.parse([config], bindings, finalize=False)
  assert gin.query_parameter("agents.PARLConfig.discount") == discount
