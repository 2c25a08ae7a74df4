"""Our actor runs inside the real `acme.EnvironmentLoop` (dm-acme 0.4.0).

dm-acme is a test-only dependency installed with --no-deps (requirements.txt,
"[no-deps]"; `.ci/run` installs it). Where it is missing this test installs
the pinned version into pytest's cache, once; it fails, never skips, when it
cannot. `import acme` wants a `launchpad` module, which this test alone stands
in for.
"""

import importlib.util
import os
import re
import subprocess
import sys
import types as pytypes

import numpy as np
import pytest

import pa_rl as ljx
from pa_rl import core
from pa_rl import environments
from pa_rl.agents import parl
from pa_rl.datasets import collection
from pa_rl.testing import tiny

_REQUIREMENTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "requirements.txt")


def _pinned_acme() -> str:
  with open(_REQUIREMENTS) as f:
    pins = re.findall(r"^dm-acme==[\w.]+$", f.read(), re.MULTILINE)
  assert len(pins) == 1, f"requirements.txt must pin dm-acme once; found {pins}"
  return pins[0]


@pytest.fixture(scope="module")
def acme(request):
  target = None
  if importlib.util.find_spec("acme") is None:
    target = str(request.config.cache.mkdir("dm_acme"))
    if not os.path.isdir(os.path.join(target, "acme")):
      result = subprocess.run(
          [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", target,
           _pinned_acme()], capture_output=True, text=True, timeout=300)
      assert result.returncode == 0, (
          f"{_pinned_acme()} is not installed and could not be installed (run .ci/run's "
          f"pip install --no-deps line): {result.stderr[-500:]}")
    sys.path.insert(0, target)
  launchpad = pytypes.ModuleType("launchpad")
  # EnvironmentLoop.run installs a stop handler through launchpad; in-process
  # there is nothing to stop.
  launchpad.register_stop_handler = lambda handler: None
  launchpad.unregister_stop_handler = lambda handler: None
  sys.modules.setdefault("launchpad", launchpad)
  try:
    import acme as acme_module  # pylint: disable=g-import-not-at-top
    assert acme_module.__version__ == _pinned_acme().split("==")[1], acme_module.__version__
    yield acme_module
  finally:
    if target is not None:
      sys.path.remove(target)


def test_actor_runs_in_acme_environment_loop(acme, tmp_path):
  path = str(tmp_path / "cartpole")
  collection.collect("cartpole-balance", path, policy="random", num_episodes=2, seed=0)
  dataset = ljx.OfflineDataset.load_from_path(path)
  networks = parl.make_networks(dataset.shape_meta, policy_type="gaussian",
                                policy_config=tiny.POLICY_CONFIGS["gaussian"],
                                critic_config=tiny.CRITIC_CONFIGS["ensemble"])
  config = parl.PARLConfig(batch_size=8, num_cql_actions=2,
                           action_optimization=tiny.ACTION_OPTIMIZATION)
  builder = parl.PARLBuilder(config, networks)
  learner = builder.make_learner(dataset, seed=0)
  learner.step()
  actor = builder.make_actor(learner, dataset.shape_meta, seed=0)
  assert isinstance(actor, core.Actor)
  env = environments.make_environment("cartpole-balance", seed=1)

  class CountingActor(acme.core.Actor):
    """Delegates to ours and counts what the loop calls."""
    def __init__(self):
      self.calls = {"select_action": 0, "observe_first": 0, "observe": 0, "update": 0}
    def select_action(self, observation):
      self.calls["select_action"] += 1
      action = actor.select_action(observation)
      assert env.action_spec().shape == action.shape
      return action
    def observe_first(self, timestep):
      self.calls["observe_first"] += 1
      actor.observe_first(timestep)
    def observe(self, action, next_timestep):
      self.calls["observe"] += 1
      actor.observe(action, next_timestep)
    def update(self, wait=False):
      self.calls["update"] += 1
      actor.update(wait)

  counting = CountingActor()
  loop = acme.EnvironmentLoop(env, counting, logger=acme.utils.loggers.NoOpLogger())
  result = loop.run_episode()
  assert result["episode_length"] == 1000  # cartpole never terminates early
  assert np.isfinite(result["episode_return"]) and result["episode_return"] > 0
  assert counting.calls["observe_first"] == 1 and counting.calls["select_action"] == 1000
  assert counting.calls["observe"] == 1000 and counting.calls["update"] == 1000
  # Our actor itself (not the wrapper) also satisfies the loop.
  counter = acme.utils.counting.Counter()
  loop = acme.EnvironmentLoop(env, actor, counter=counter,
                              logger=acme.utils.loggers.NoOpLogger())
  loop.run(num_episodes=1)
  assert counter.get_counts()["steps"] == 1000
  assert counter.get_counts()["episodes"] == 1
