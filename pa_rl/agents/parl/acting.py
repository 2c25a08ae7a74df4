"""PA-RL acts with action optimization over base-policy samples (argmax)."""

from pa_rl.agents.acting import Actor, make_policy_fn  # noqa: F401
