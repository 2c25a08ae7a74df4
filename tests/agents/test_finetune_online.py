"""`evaluation.finetune_online` (functional face): online transitions are
built like the offline dataset's, so mixed batches hold one kind of backup."""

import numpy as np

import pa_rl as ljx
from pa_rl import environments
from pa_rl.agents import evaluation
from pa_rl.datasets import collection
from pa_rl.testing import tiny


def test_online_transitions_use_the_datasets_n_step_and_discount(tmp_path, monkeypatch):
  path = str(tmp_path / "data")
  collection.collect("two_routes", path, policy="random", num_episodes=4, seed=0)
  dataset = ljx.OfflineDataset.load_from_path(path, seed=0, discount=0.8, n_step=3)
  assert (dataset.n_step, dataset.discount) == (3, 0.8)
  # The dataset's own backups: gamma**3 wherever three steps remain.
  offline = np.asarray(dataset.data["discount"])
  assert np.isclose(offline, 0.8**3).mean() > 0.8

  meta = dataset.shape_meta
  policy = ljx.create_policy_model("diffusion", 0, meta, tiny.POLICY_CONFIGS["diffusion"])
  critic = ljx.create_q_critic("ensemble", 1, meta, tiny.CRITIC_CONFIGS["ensemble"])
  # The agent's discount differs on purpose: the dataset's targets rule.
  agent = ljx.create_agent("diffusion_rl", policy, critic, 2,
                           {**tiny.AGENT_CONFIG, "discount": 0.99})

  online = []
  real_make_actor = evaluation.make_actor

  def recording_make_actor(*args, on_episode_end=None, **kwargs):
    def record(transitions):
      online.append(transitions)
      on_episode_end(transitions)
    return real_make_actor(*args, on_episode_end=record, **kwargs)

  monkeypatch.setattr(evaluation, "make_actor", recording_make_actor)
  env = environments.make_environment("two_routes", seed=3, max_steps=12)
  tuned, _ = evaluation.finetune_online(agent, env, dataset, num_episodes=2, seed=0,
                                        config={"policy_lr": 1e-4, "online_fraction": 0.5})
  assert isinstance(tuned, ljx.ActorCriticAgent)
  assert len(online) == 2
  discounts = np.concatenate([np.asarray(t.discount) for t in online])
  rewards = np.concatenate([np.asarray(t.reward) for t in online])
  assert len(discounts) >= 2 and np.all(np.isfinite(rewards))
  # 3-step backups with gamma 0.8 (the last steps of an episode are shorter
  # or end in a termination): never the 1-step gamma**1 of a full step,
  # unless only one step was left.
  assert np.isclose(discounts[0], 0.8**3) or discounts[0] == 0.0
  allowed = np.array([0.0, 0.8, 0.8**2, 0.8**3])
  assert np.all(np.isclose(discounts[:, None], allowed[None]).any(axis=1)), discounts
  assert np.isclose(discounts, 0.8**3).sum() >= len(discounts) // 2
  assert not np.any(np.isclose(discounts, 0.99))
