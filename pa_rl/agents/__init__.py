"""Agents: one folder per type (Acme triads) and the seed's functional face."""

from pa_rl.agents.functional import (ActorCriticAgent, Agent, CalQLAgent,
                                     DiffusionPolicyRLAgent, IQLAgent, ImitationAgent,
                                     OfflineRLAgent, SACAgent, AGENT_TYPES, create_agent, to_online)
