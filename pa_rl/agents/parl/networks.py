"""PA-RL trains any policy class against an ensemble or distributional critic."""

from pa_rl.agents.networks import AgentNetworks, make_networks  # noqa: F401
