"""Imitation acts with a plain policy sample (its mode when evaluating)."""

from pa_rl.agents.acting import Actor, make_policy_fn  # noqa: F401
