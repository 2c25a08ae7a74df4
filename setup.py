"""lerobot-jax: Policy-Agnostic RL in JAX (import package `pa_rl`)."""

import pathlib

import setuptools

_ROOT = pathlib.Path(__file__).parent


def _requirements():
  runtime, test, current = [], [], None
  current = runtime
  for line in (_ROOT / "requirements.txt").read_text().splitlines():
    line = line.strip()
    if line == "# [test]":
      current = test
    elif line == "# [no-deps]":  # Installed separately, with --no-deps (.ci/run).
      current = []
    elif line and not line.startswith("#"):
      current.append(line)
  return runtime, test


_RUNTIME, _TEST = _requirements()

setuptools.setup(
    name="lerobot-jax",
    version="0.1.0",
    description="Policy-Agnostic RL (PA-RL) in JAX: any policy class, Q-critics doing the improving.",
    long_description=(_ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11,<3.12",
    packages=setuptools.find_packages(include=["pa_rl", "pa_rl.*"]),
    package_data={"pa_rl": ["configs/*.gin", "configs/**/*.gin"]},
    include_package_data=True,
    install_requires=_RUNTIME,
    extras_require={"test": _TEST},
)
