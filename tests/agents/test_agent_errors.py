"""create_agent / update / act reject bad input with messages that name it."""

import numpy as np
import pytest

import pa_rl as ljx
from pa_rl import types
from pa_rl.testing import tiny

META = types.ShapeMeta(observations={"state": types.ObsSpec((3,))}, action_dim=2)


@pytest.fixture(scope="module")
def models():
  return (ljx.create_policy_model("gaussian", 0, META, tiny.POLICY_CONFIGS["gaussian"]),
          ljx.create_policy_model("diffusion", 0, META, tiny.POLICY_CONFIGS["diffusion"]),
          ljx.create_q_critic("ensemble", 0, META, tiny.CRITIC_CONFIGS["ensemble"]))


def test_unknown_agent_type_lists_the_valid_ones(models):
  gaussian, _, critic = models
  with pytest.raises(ValueError, match="agent_type='ofline_rl' is unknown; choose one of: "
                                       "imitation, iql, calql, offline_rl"):
    ljx.create_agent("ofline_rl", gaussian, critic, 0, None)


def test_misspelled_config_key_lists_the_valid_keys(models):
  gaussian, _, critic = models
  with pytest.raises(ValueError, match=r"unknown keys \['polcy_lr'\].*valid keys: .*policy_lr"):
    ljx.create_agent("offline_rl", gaussian, critic, 0, {"polcy_lr": 1e-4})
  with pytest.raises(ValueError, match=r"unknown keys \['topk'\].*top_k"):
    ljx.create_agent("offline_rl", gaussian, critic, 0, {"action_optimization": {"topk": 3}})


@pytest.mark.parametrize("config, match", [
    ({"policy_lr": -1.0}, "policy_lr must be > 0"),
    ({"action_optimization": {"num_samples": 4, "top_k": 8}}, "top_k must be in"),
    ({"critic_objective": "sac"}, "critic_objective='sac' is unknown"),
    ({"discount": 1.5}, "discount must be in"),
])
def test_out_of_range_config_values(models, config, match):
  gaussian, _, critic = models
  with pytest.raises(ValueError, match=match):
    ljx.create_agent("offline_rl", gaussian, critic, 0, config)


def test_mismatched_parts(models):
  gaussian, diffusion, critic = models
  with pytest.raises(ValueError, match="needs a diffusion policy"):
    ljx.create_agent("diffusion_rl", gaussian, critic, 0, None)
  with pytest.raises(ValueError, match="needs a critic"):
    ljx.create_agent("offline_rl", diffusion, None, 0, None)
  with pytest.raises(TypeError, match="create_policy_model"):
    ljx.create_agent("imitation", "diffusion", None, 0, None)
  with pytest.raises(ValueError, match="value head"):
    ljx.create_agent("iql", gaussian, critic, 0, None)


def test_bad_observations_and_batches(models):
  gaussian, _, _ = models
  agent = ljx.create_agent("imitation", gaussian, None, 0, None)
  assert agent.act(np.zeros(3, np.float32)).shape == (2,)
  with pytest.raises(ValueError, match=r"observation\['state'\] has shape \(4,\)"):
    agent.act({"state": np.zeros(4)})
  with pytest.raises(ValueError, match="keys"):
    agent.act({"pos": np.zeros(3)})
  with pytest.raises(ValueError, match="NaN"):
    agent.act({"state": np.array([0.0, np.nan, 0.0])})
  with pytest.raises(ValueError, match="needs a critic"):
    agent.act({"state": np.zeros(3)}, guidance_scale=1.0)
  with pytest.raises(ValueError, match="guidance_scale"):
    agent.act({"state": np.zeros(3)}, guidance_scale=-1.0)
  batch = types.Transition(
      observation={"state": np.zeros((4, 3), np.float32)}, action=np.zeros((4, 2), np.float32),
      reward=np.zeros(4, np.float32), discount=np.ones(4, np.float32),
      next_observation={"state": np.zeros((4, 3), np.float32)},
      mc_return=np.zeros(4, np.float32))
  assert agent.update(batch)["agent"].step == 1
  with pytest.raises(ValueError, match="batch.action has shape"):
    agent.update(batch._replace(action=np.zeros((4, 3))))
  with pytest.raises(ValueError, match="batch.reward holds NaN"):
    agent.update(batch._replace(reward=np.full(4, np.nan, np.float32)))
  with pytest.raises(ValueError, match="unknown fields"):
    agent.update({"observations": batch.observation})
