"""SAC acts with its policy: a sample when exploring, the mode when evaluating."""

from pa_rl.agents.acting import Actor, make_policy_fn  # noqa: F401
