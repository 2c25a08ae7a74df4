"""lerobot-jax: Policy-Agnostic RL in JAX."""
