import gc
import os

# Tests run on the CPU with quiet TensorFlow logs.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def compilation_cache_dir(tmp_path_factory):
  """A persistent JAX compilation cache shared by the whole run.

  Tests build fresh jitted functions (and `_release_compiled_code` drops the
  in-memory ones after each test), so the same programs would compile again
  and again: in one test (a benchmark run twice), across tests, across the
  pytest-xdist workers and in the subprocesses of the binaries and examples.
  With the cache those recompiles are hits. The directory lives under the
  run's pytest temporary root (shared by the workers), so every run starts
  empty and pytest prunes old ones. A size limit turns on JAX's file lock,
  so processes that compile at the same time (the workers, Ray actors) never
  read an entry another one is still writing.
  """
  from jax.experimental.compilation_cache import compilation_cache as cc  # pylint: disable=g-import-not-at-top
  root = tmp_path_factory.getbasetemp()
  if os.environ.get("PYTEST_XDIST_WORKER"):
    root = root.parent  # popen-gwN -> the run's root, the same for every worker
  cache_dir = str(root / "jax_cache")
  os.makedirs(cache_dir, exist_ok=True)
  settings = {"jax_compilation_cache_dir": cache_dir,
              "jax_persistent_cache_min_compile_time_secs": 0.1,
              "jax_compilation_cache_max_size": 4 << 30}
  previous = {k: getattr(jax.config, k) for k in settings}
  env = {k.upper(): str(v) for k, v in settings.items()}
  previous_env = {k: os.environ.get(k) for k in env}
  for key, value in settings.items():
    jax.config.update(key, value)
  os.environ.update(env)  # subprocesses (binaries, examples) share the cache
  cc.reset_cache()
  yield cache_dir
  for key, value in previous.items():
    jax.config.update(key, value)
  for key, value in previous_env.items():
    if value is None:
      os.environ.pop(key, None)
    else:
      os.environ[key] = value
  cc.reset_cache()


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
