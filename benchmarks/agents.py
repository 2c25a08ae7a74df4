"""Kept for old command lines: ``python -m benchmarks.agents`` runs
`benchmarks.throughput` (see there)."""

from benchmarks.throughput import main

if __name__ == "__main__":
  main()
