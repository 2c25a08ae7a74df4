"""SAC from scratch (`create_agent("sac")` + `evaluation.train_online`), and
collecting a dataset with a trained agent as the behaviour policy."""

import dm_env
import jax
from dm_env import specs
import numpy as np
import pytest

import pa_rl as ljx
from pa_rl import environments
from pa_rl.agents import evaluation
from pa_rl.datasets import collection


class Reach(dm_env.Environment):
  """1-D point: x' = clip(x + 0.25 a, -2, 2), reward -|x' - 1|, 20 steps.

  Actions live in [-2, 2] (not [-1, 1]) so the action normalizer matters.
  """

  def __init__(self, seed=0):
    self.rng = np.random.default_rng(seed)
    self.x, self.t = 0.0, 0

  def reset(self):
    self.x, self.t = float(self.rng.uniform(-1.5, 1.5)), 0
    return dm_env.restart(self._obs())

  def step(self, action):
    a = float(np.clip(np.asarray(action).reshape(()), -2, 2))
    self.x = float(np.clip(self.x + 0.25 * a, -2, 2))
    self.t += 1
    reward = -abs(self.x - 1.0)
    if self.t == 20:
      return dm_env.truncation(reward, self._obs())
    return dm_env.transition(reward, self._obs())

  def _obs(self):
    return {"x": np.array([self.x], np.float32)}

  def observation_spec(self):
    return {"x": specs.Array((1,), np.float32, "x")}

  def action_spec(self):
    return specs.BoundedArray((1,), np.float32, -2.0, 2.0, "action")


def _sac(env, seed=0, **config):
  meta = collection.shape_meta_for(env)
  policy = ljx.create_policy_model("gaussian", seed, meta, {"hidden_sizes": (32, 32)})
  critic = ljx.create_q_critic("ensemble", seed + 1, meta,
                               {"hidden_sizes": (32, 32), "ensemble_size": 2})
  return ljx.create_agent("sac", policy, critic, seed + 2,
                          {"batch_size": 64, "critic_lr": 1e-3, "policy_lr": 1e-3,
                           "discount": 0.9, "entropy_alpha": 0.05, **config})


def _mean_return(agent, episodes=10, seed=7):
  env = Reach(seed)
  return evaluation.evaluate(evaluation.make_actor(agent, seed=seed), env, episodes)["return"]


def test_sac_learns_to_reach_and_reports_every_episode():
  env = Reach(0)
  agent = _sac(env)
  before = _mean_return(agent)
  seen = []
  trained = evaluation.train_online(
      agent, env, num_steps=1600, seed=0, start_steps=200,
      on_episode=lambda i, stats, steps, a: seen.append((i, stats, steps, a.state.step)))
  after = _mean_return(trained)
  # Heading straight for x = 1 from a uniform start scores about -1.5; the
  # untrained policy about -16 (measured: -15.7 -> -1.5).
  assert after > -5.0, (before, after)
  assert after > before + 5.0, (before, after)
  # 80 episodes of 20 steps; the first 10 (200 steps) are uniform random.
  assert [i for i, *_ in seen] == list(range(80))
  assert [s["random_actions"] for _, s, *_ in seen] == [True] * 10 + [False] * 70
  assert seen[-1][1]["env_steps"] == 1600
  # One update per environment step, taken before the episode is reported.
  assert [int(step) for *_, step in seen] == [20 * (i + 1) for i in range(80)]
  # The RLDS steps of an episode: 21 observations, the last one final.
  steps = seen[-1][2]
  assert steps["observation"]["x"].shape == (21, 1)
  assert steps["is_last"][-1] and not steps["is_terminal"].any()
  assert np.all(np.abs(steps["action"][:-1]) <= 2.0)


def test_collect_with_a_trained_agent_as_behaviour(tmp_path):
  env = Reach(0)
  agent = evaluation.train_online(_sac(env), env, num_steps=400, seed=0, start_steps=100)
  path = str(tmp_path / "data")
  environments.register_environment("reach_test", lambda seed=0: Reach(seed), overwrite=True)
  stats = collection.collect("reach_test", path, policy="sac", num_episodes=3, seed=0,
                             behaviour=evaluation.AgentBehaviour(agent, seed=0))
  assert stats["episodes"] == 3 and stats["transitions"] == 60
  dataset = ljx.OfflineDataset.load_from_path(path, normalize=True, seed=0)
  assert len(dataset) == 60
  with pytest.raises(TypeError, match="BehaviourPolicy"):
    collection.collect("reach_test", str(tmp_path / "bad"), behaviour=agent)


def test_sac_errors_name_the_problem():
  env = Reach(0)
  meta = collection.shape_meta_for(env)
  diffusion = ljx.create_policy_model("diffusion", 0, meta,
                                      {"hidden_dim": 16, "num_blocks": 1, "time_dim": 8})
  critic = ljx.create_q_critic("ensemble", 1, meta, {"hidden_sizes": (16,)})
  with pytest.raises(ValueError, match="log-density"):
    ljx.create_agent("sac", diffusion, critic, 2)
  with pytest.raises(ValueError, match="entropy_alpha"):
    _sac(env, entropy_alpha=-1.0)
  agent = _sac(env)
  with pytest.raises(ValueError, match="num_steps"):
    evaluation.train_online(agent, env, num_steps=0)
  with pytest.raises(ValueError, match="utd_ratio"):
    evaluation.train_online(agent, env, num_steps=10, utd_ratio=0)
  bc = ljx.create_agent("imitation", ljx.create_policy_model("gaussian", 0, meta, None))
  with pytest.raises(ValueError, match="critic"):
    evaluation.train_online(bc, env, num_steps=10)
  unbounded = specs.BoundedArray((1,), np.float32, -np.inf, np.inf)
  class Unbounded(Reach):
    def action_spec(self):
      return unbounded
  with pytest.raises(ValueError, match="finite bounds"):
    collection.shape_meta_for(Unbounded())


def test_acme_face_sac_learner_and_actor(tmp_path):
  from pa_rl.agents import sac  # pylint: disable=g-import-not-at-top
  from pa_rl.testing import fakes  # pylint: disable=g-import-not-at-top
  from pa_rl.testing import tiny  # pylint: disable=g-import-not-at-top
  path = str(tmp_path / "ds")
  fakes.write_dataset(path, (8, 8))
  dataset = ljx.OfflineDataset.load_from_path(path, seed=0)
  networks = sac.make_networks(dataset.shape_meta, policy_config=tiny.POLICY_CONFIGS["gaussian"],
                               critic_config=tiny.CRITIC_CONFIGS["ensemble"])
  builder = sac.SACBuilder(sac.SACConfig(batch_size=8), networks)
  assert builder.objective_for(builder.config) == sac.learning.OBJECTIVE
  learner = builder.make_learner(dataset, seed=0)
  before = learner.get_variables(["critic"])[0]
  learner.step()
  after = learner.get_variables(["critic"])[0]
  assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(before),
                                                     jax.tree.leaves(after)))
  actor = builder.make_actor(learner, dataset.shape_meta)
  obs = {k: np.zeros(v.shape, np.float32) for k, v in dataset.shape_meta.observations.items()}
  action = actor.select_action(obs)
  assert action.shape == (dataset.shape_meta.action_dim,) and np.all(np.isfinite(action))
