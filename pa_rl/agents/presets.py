"""Settings that train well on the built-in two-routes task in minutes on a CPU.

Used by the quickstart, the examples and the learning tests, so all three
train the same thing. Measured on 2 CPU cores with the mixed-quality data
below: PA-RL (diffusion) reaches 95-100% success after ~3,500 updates
(~38 updates/s); diffusion BC and Gaussian BC stay at 0%.
"""

# Mixed-quality data: 20% expert, 30% noisy expert (std 0.8), 50% random.
TWO_ROUTES_DATA = {"policy": "mixed", "num_episodes": 300, "noise_std": 0.8,
                   "mixture": (0.2, 0.3, 0.5)}
TWO_ROUTES_DISCOUNT = 0.9
DIFFUSION = {"hidden_dim": 64, "num_blocks": 2, "num_diffusion_steps": 3, "time_dim": 16}
# The diffusion preset's network, integrated with 3 Euler steps.
FLOW = {"hidden_dim": 64, "num_blocks": 2, "num_flow_steps": 3, "time_dim": 16}
GAUSSIAN = {"hidden_sizes": (128, 128)}
CRITIC = {"hidden_sizes": (64, 64), "ensemble_size": 2}
PARL = {"batch_size": 256, "critic_lr": 1e-3, "tau": 0.05, "discount": TWO_ROUTES_DISCOUNT,
        "num_cql_actions": 2,
        "action_optimization": {"num_samples": 8, "top_k": 2, "num_steps": 1,
                                "step_size": 0.1}}
AUTOREGRESSIVE = {"num_layers": 1, "num_heads": 2, "embed_dim": 32, "mlp_ratio": 2,
                  "num_bins": 32}
# Economical PA-RL (merged over a task's PA-RL settings; benchmarks.time_to_score):
# an IQL critic bootstrapping from its in-sample V(s') needs no action
# optimization inside the update, and the policy imitates the data with IQL's
# advantage weights instead of distilling optimized actions; acting still takes
# the critic's best of the policy's samples. Online fine-tuning distills again.
ECONOMICAL_PARL = {"critic_objective": "iql", "expectile": 0.9, "iql_bootstrap": "value",
                   "distill_source": "advantage_weighted", "awr_temperature": 10.0}
# Online fine-tuning from an offline PA-RL agent (merged over PARL).
TWO_ROUTES_ONLINE = {"policy_lr": 1e-4, "online_fraction": 0.5}

# PointMaze (gymnasium-robotics, sparse reward, random start and goal every
# episode, goal observed): the time limits keep the uniform random policy at
# ~5% success while the scripted expert succeeds ~100% (Medium: ~100 steps).
POINTMAZE_TIME_LIMIT = {"Medium": 250, "Large": 400}
# Mixed quality: 20% expert, 30% noisy expert (std 1.0), 50% random
# episodes; the random ones are the longest, so most transitions are noise.
POINTMAZE_DATA = {"policy": "mixed", "num_episodes": 300, "noise_std": 1.0,
                  "mixture": (0.2, 0.3, 0.5)}
# D4RL maze2d style: the waypoint expert with noise and random goal
# segments (`make_behaviour_policy(kind="segments")`) -- purposeful actions
# everywhere, often leading away from the task's goal.
POINTMAZE_SEGMENTS_DATA = {"policy": "mixed", "num_episodes": 300, "noise_std": 0.5,
                           "mixture": (0.2, 0.3, 0.0, 0.5)}
POINTMAZE_DISCOUNT = 0.99
POINTMAZE_STEPS = {"bc": 3000, "rl": 5000}
POINTMAZE_CRITIC = {"hidden_sizes": (128, 128), "ensemble_size": 2}
# 10-step TD targets: 1-step backups cross the maze too slowly for a few
# thousand updates.
POINTMAZE_N_STEP = 10
POINTMAZE_PARL = {**PARL, "discount": POINTMAZE_DISCOUNT, "tau": 0.01,
                  "action_optimization": {"num_samples": 16, "top_k": 4, "num_steps": 1,
                                          "step_size": 0.1}}
POINTMAZE_ONLINE = {"policy_lr": 1e-4, "online_fraction": 0.5}
POINTMAZE_ONLINE_EPISODES = 40
# Fixed goal cells (row, col) of the Medium maze, one per task id.
POINTMAZE_MULTITASK_GOALS = ((1, 1), (1, 6), (6, 6))

# HalfCheetah-v5 locomotion. The behaviour policies come from an online SAC
# run of the library's own "sac" agent (fixed entropy weight 0.2): "medium"
# is the snapshot whose return is nearest 40% of the final policy's (D4RL's
# medium policies score ~40% of its experts), "medium_replay" every episode
# SAC played up to that snapshot (random warm-up included).
CHEETAH_SAC = {"num_steps": 50_000, "start_steps": 5_000, "snapshot_every": 5_000,
               "medium_fraction": 0.4, "batch_size": 256}
CHEETAH_SAC_GAUSSIAN = {"hidden_sizes": (256, 256)}
CHEETAH_SAC_CRITIC = {"hidden_sizes": (256, 256), "ensemble_size": 2}
CHEETAH_MEDIUM_EPISODES = 50
CHEETAH_DISCOUNT = 0.99
CHEETAH_STEPS = {"bc": 3000, "rl": 5000}
CHEETAH_DIFFUSION = {"hidden_dim": 128, "num_blocks": 2, "num_diffusion_steps": 5,
                     "time_dim": 16}
CHEETAH_GAUSSIAN = {"hidden_sizes": (256, 256)}
CHEETAH_CRITIC = {"hidden_sizes": (256, 256), "ensemble_size": 2}
CHEETAH_PARL = {"batch_size": 256, "critic_lr": 3e-4, "tau": 0.005,
                "discount": CHEETAH_DISCOUNT, "num_cql_actions": 4,
                "action_optimization": {"num_samples": 16, "top_k": 4, "num_steps": 1,
                                        "step_size": 0.1}}
