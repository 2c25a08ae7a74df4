"""IQL needs a critic with a state-value head."""

import functools

from pa_rl.agents import networks

make_networks = functools.partial(networks.make_networks, policy_type="gaussian",
                                  value_head=True)
