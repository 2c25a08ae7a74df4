"""Tests of the network configs' validation and the type registry."""

import dataclasses

import pytest

from pa_rl import config_utils
from pa_rl.networks import configs
from pa_rl.networks import registry

ALL_CONFIGS = [configs.GaussianPolicyConfig, configs.DiffusionPolicyConfig,
               configs.AutoregressivePolicyConfig, configs.EnsembleCriticConfig,
               configs.DistributionalCriticConfig]


@pytest.mark.parametrize("cls", ALL_CONFIGS)
def test_defaults_are_valid_and_documented(cls):
  config = cls()
  doc = "".join(c.__doc__ or "" for c in cls.__mro__)
  for field in dataclasses.fields(config):
    assert f"{field.name}:" in doc, f"{cls.__name__}.{field.name} is undocumented"


def test_reference_defaults():
  diffusion = configs.DiffusionPolicyConfig()
  assert (diffusion.num_diffusion_steps, diffusion.beta_schedule,
          diffusion.hidden_dim, diffusion.num_blocks, diffusion.dropout_rate) == (
              5, "cosine", 256, 3, 0.1)
  ar = configs.AutoregressivePolicyConfig()
  assert (ar.num_bins, ar.num_layers) == (128, 4)
  critic = configs.EnsembleCriticConfig()
  assert (critic.ensemble_size, critic.target_subset_size, critic.hidden_sizes,
          critic.layer_norm) == (10, 2, (256, 256), True)
  dist = configs.DistributionalCriticConfig()
  assert (dist.num_bins, dist.sigma_ratio, dist.projection) == (128, 0.75, "hl_gauss")


@pytest.mark.parametrize("cls,changes,message", [
    (configs.DiffusionPolicyConfig, {"num_diffusion_steps": 0},
     r"num_diffusion_steps must be an int >= 1; got 0"),
    (configs.DiffusionPolicyConfig, {"ddim_steps": 9},
     r"ddim_steps must be <= num_diffusion_steps=5"),
    (configs.DiffusionPolicyConfig, {"sampler": "dpm"},
     r"sampler must be one of: ddpm, ddim; got 'dpm'"),
    (configs.DiffusionPolicyConfig, {"beta_schedule": "sigmoid"},
     r"beta_schedule must be one of: cosine, linear"),
    (configs.DiffusionPolicyConfig, {"dropout_rate": 1.0}, r"dropout_rate"),
    (configs.FlowPolicyConfig, {"num_flow_steps": 0},
     r"num_flow_steps must be an int >= 1; got 0"),
    (configs.FlowPolicyConfig, {"time_scale": 0.0}, r"time_scale must be > 0"),
    (configs.FlowPolicyConfig, {"use_ema": "yes"}, r"use_ema"),
    (configs.AutoregressivePolicyConfig, {"num_bins": 1},
     r"num_bins must be an int >= 2; got 1"),
    (configs.AutoregressivePolicyConfig, {"embed_dim": 30, "num_heads": 4},
     r"embed_dim must be divisible by num_heads=4"),
    (configs.EnsembleCriticConfig, {"ensemble_size": 2, "target_subset_size": 3},
     r"target_subset_size must be <= ensemble_size=2; got 3"),
    (configs.EnsembleCriticConfig, {"target_subset_size": 0},
     r"target_subset_size must be an int >= 1"),
    (configs.EnsembleCriticConfig, {"hidden_sizes": (256, 0)}, r"hidden_sizes"),
    (configs.EnsembleCriticConfig, {"activation": "sigmoid"},
     r"activation must be one of: relu"),
    (configs.DistributionalCriticConfig, {"num_bins": 1}, r"num_bins"),
    (configs.DistributionalCriticConfig, {"v_min": 1.0, "v_max": 1.0},
     r"v_min < v_max"),
    (configs.DistributionalCriticConfig, {"projection": "mse"},
     r"projection must be one of: hl_gauss, c51"),
    (configs.DistributionalCriticConfig, {"sigma_ratio": 0.0}, r"sigma_ratio"),
    (configs.GaussianPolicyConfig, {"log_std_min": 2.0, "log_std_max": -5.0},
     r"log_std_min < log_std_max"),
    (configs.GaussianPolicyConfig, {"image_channels": "abc"}, r"image_channels"),
])
def test_invalid_values_raise(cls, changes, message):
  with pytest.raises(ValueError, match=message):
    cls(**changes)


def test_lists_become_tuples():
  config = config_utils.make_config(configs.EnsembleCriticConfig,
                                    {"hidden_sizes": [64, 64, 64, 64]})
  assert config.hidden_sizes == (64, 64, 64, 64)


def test_registry_names_and_errors():
  assert sorted(registry.POLICIES) == ["autoregressive", "diffusion", "flow", "gaussian"]
  assert sorted(registry.CRITICS) == ["distributional", "ensemble"]
  assert registry.policy_config_class("diffusion") is configs.DiffusionPolicyConfig
  with pytest.raises(ValueError, match=(
      r"^policy_type='difusion' is unknown; choose one of: "
      r"autoregressive, diffusion, flow, gaussian$")):
    registry.policy_config_class("difusion")
  with pytest.raises(ValueError, match=(
      r"critic_type='mse' is unknown; choose one of: distributional, ensemble")):
    registry.make_critic_network("mse", {"observations": {"s": {"shape": [1]}},
                                         "action_dim": 1})
  with pytest.raises(ValueError, match=r"unknown keys \['num_step'\].*valid keys:"):
    registry.make_policy_network("diffusion", {"observations": {"s": {"shape": [1]}},
                                               "action_dim": 1},
                                 {"num_step": 3})
