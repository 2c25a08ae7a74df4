"""Imitation needs a policy only."""

import functools

from pa_rl.agents import networks

make_networks = functools.partial(networks.make_networks, critic_type=None)
