"""Tiny network and agent configs that keep tests fast on two CPU cores."""

POLICY_CONFIGS = {
    "gaussian": {"hidden_sizes": (32, 32)},
    "diffusion": {"hidden_dim": 32, "num_blocks": 1, "num_diffusion_steps": 3, "time_dim": 8},
    "autoregressive": {"num_bins": 16, "num_layers": 1, "num_heads": 2, "embed_dim": 16},
    "flow": {"hidden_dim": 32, "num_blocks": 1, "num_flow_steps": 3, "time_dim": 8},
}
CRITIC_CONFIGS = {
    "ensemble": {"hidden_sizes": (32, 32), "ensemble_size": 3, "target_subset_size": 2},
    "distributional": {"hidden_sizes": (32, 32), "ensemble_size": 2, "num_bins": 16,
                       "v_min": -5.0, "v_max": 5.0},
}
ACTION_OPTIMIZATION = {"num_samples": 4, "top_k": 2, "num_steps": 2, "step_size": 0.01}
AGENT_CONFIG = {"batch_size": 8, "action_optimization": ACTION_OPTIMIZATION,
                "num_cql_actions": 2}
