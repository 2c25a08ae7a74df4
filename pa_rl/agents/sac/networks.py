"""SAC trains a Gaussian policy against an ensemble critic."""

import functools

from pa_rl.agents import networks

make_networks = functools.partial(networks.make_networks, policy_type="gaussian")
