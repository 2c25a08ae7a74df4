"""Offline data (RLDS on disk) and online replay."""

from pa_rl.datasets.offline import OfflineDataset
from pa_rl.datasets.replay import ReplayBuffer, normalize_transition, sample_mixed
from pa_rl.datasets.rlds_io import DatasetError, RLDSWriter, load_episodes
from pa_rl.datasets.transitions import TransitionTable, build_table, episode_indices

__all__ = [
    "DatasetError", "OfflineDataset", "RLDSWriter", "ReplayBuffer", "TransitionTable",
    "build_table", "episode_indices", "load_episodes", "normalize_transition",
    "sample_mixed",
]
