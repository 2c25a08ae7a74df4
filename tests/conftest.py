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
