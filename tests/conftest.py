import gc
import os

# Tests run on the CPU with quiet TensorFlow logs.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _release_compiled_code():
  """Tests compile many programs; dropping them after each test keeps one
  pytest process's memory flat over the whole suite (module-scoped fixtures
  hold data, not compiled code, so nothing shared is lost)."""
  yield
  from pa_rl.agents import functional  # pylint: disable=g-import-not-at-top
  functional.clear_cache()
  jax.clear_caches()
  gc.collect()


@pytest.fixture(scope="session")
def two_routes_data(tmp_path_factory):
  """A few two_routes episodes (the built-in task; no MuJoCo)."""
  from pa_rl.datasets import collection  # pylint: disable=g-import-not-at-top
  path = str(tmp_path_factory.mktemp("two_routes") / "data")
  collection.collect("two_routes", path, policy="mixed", num_episodes=4, seed=0)
  return path
