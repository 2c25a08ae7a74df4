"""At which discount is finishing an OGBench puzzle task worth it?

OGBench's puzzle tasks ("lights out") reward each step with minus the number
of buttons not in their goal state, and a press toggles the button and its
(up to four) neighbours. Treating one press as a macro step of
``steps_per_press`` environment steps (OGBench's play data changes the reward
about every 33 steps: ``--data`` measures it), the discounted press-level
problem is small enough to solve exactly: value iteration over the
``2^(rows*cols)`` button states, where at each state the agent either presses
a button or stops for good (``-wrong / (1 - discount)``). Following the
optimal plan from the task's start shows, for each discount, how many presses
it makes and how many buttons it leaves wrong: a discount too short for the
task stops short of the goal, however good the critic.

  python -m benchmarks.puzzle_horizon --dataset puzzle-3x3-play --task 4
"""

import argparse
import itertools

import numpy as np

DISCOUNTS = (0.99, 0.995, 0.997, 0.998, 0.999)


def press_table(rows: int, cols: int) -> np.ndarray:
  """``[2^(rows*cols), rows*cols]``: the state index after each press (bit
  ``i`` of a state index is button ``i``'s state)."""
  num_buttons = rows * cols
  masks = np.zeros(num_buttons, np.int64)
  for i in range(num_buttons):
    r, c = divmod(i, cols)
    for dr, dc in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
      if 0 <= r + dr < rows and 0 <= c + dc < cols:
        masks[i] |= 1 << ((r + dr) * cols + c + dc)
  return np.arange(2 ** num_buttons)[:, None] ^ masks[None, :]


def state_index(buttons) -> int:
  return int(sum(int(b) << i for i, b in enumerate(buttons)))


def wrong_counts(num_buttons: int, goal: int) -> np.ndarray:
  """Buttons not in their goal state, per state index."""
  diff = np.arange(2 ** num_buttons) ^ goal
  return np.array([bin(d).count("1") for d in diff], np.float64)


def optimal_plan(rows: int, cols: int, init, goal, discount: float,
                 steps_per_press: float, tol: float = 1e-9) -> dict:
  """Solves the discounted press-level problem and follows its plan from ``init``.

  Returns: ``value`` (the optimal discounted return from the start),
  ``finish_value`` (that of the best plan that finishes), ``presses`` (the
  optimal plan's), ``wrong_at_end`` (buttons it leaves wrong; 0: it finishes)
  and ``stop_value`` (stopping at the start).
  """
  if not 0 < discount < 1:
    raise ValueError(f"discount must be in (0, 1); got {discount}")
  if steps_per_press <= 0:
    raise ValueError(f"steps_per_press must be > 0; got {steps_per_press}")
  num_buttons = rows * cols
  if len(init) != num_buttons or len(goal) != num_buttons:
    raise ValueError(f"init and goal need {num_buttons} button states; got {len(init)}, "
                     f"{len(goal)}")
  nxt = press_table(rows, cols)
  goal_i, start = state_index(goal), state_index(init)
  wrong = wrong_counts(num_buttons, goal_i)
  macro = discount ** steps_per_press
  cost = -wrong * (1 - macro) / (1 - discount)  # the steps of one press
  stop = -wrong / (1 - discount)

  def iterate(values, allow_stop):
    while True:
      press = cost + macro * values[nxt].max(axis=1)
      new = np.maximum(stop, press) if allow_stop else press
      new[goal_i] = 0.0
      if np.abs(new - values).max() < tol:
        return new
      values = new

  values = iterate(np.zeros(2 ** num_buttons), allow_stop=True)
  finishing = iterate(np.zeros(2 ** num_buttons), allow_stop=False)
  state, presses = start, 0
  while state != goal_i and presses < 4 * num_buttons:
    press = cost[state] + macro * values[nxt[state]]
    if stop[state] >= press.max() - tol:
      break
    state, presses = int(nxt[state][press.argmax()]), presses + 1
  return {"value": float(values[start]), "finish_value": float(finishing[start]),
          "stop_value": float(stop[start]), "presses": presses,
          "wrong_at_end": int(wrong[state]), "wrong_at_start": int(wrong[start])}


def fewest_presses(rows: int, cols: int, init, goal) -> int:
  """The fewest presses that turn ``init`` into ``goal`` (presses commute and
  a button pressed twice undoes itself, so a solution is a set of buttons)."""
  num_buttons = rows * cols
  nxt = press_table(rows, cols)
  start, goal_i = state_index(init), state_index(goal)
  for count in range(num_buttons + 1):
    for subset in itertools.combinations(range(num_buttons), count):
      state = start
      for i in subset:
        state = nxt[state, i]
      if state == goal_i:
        return count
  raise ValueError("the goal cannot be reached from the start")


def steps_per_press_in_data(path: str) -> float:
  """The median number of steps between reward changes in an RLDS dataset of
  a puzzle task (each press changes at least one button)."""
  from pa_rl.datasets import rlds_io  # pylint: disable=g-import-not-at-top
  episodes, _ = rlds_io.load_episodes(path)
  gaps = []
  for episode in episodes:
    changes = np.nonzero(np.diff(np.asarray(episode["steps"]["reward"])) != 0)[0]
    gaps.extend(np.diff(changes))
  if not gaps:
    raise ValueError(f"no reward changes in {path}: not a puzzle task's data?")
  return float(np.median(gaps))


def task_buttons(dataset: str, task: int):
  """``(rows, cols, init, goal, episode_steps)`` of an OGBench puzzle task,
  read from OGBench's own environment."""
  import gymnasium  # pylint: disable=g-import-not-at-top
  import ogbench  # pylint: disable=g-import-not-at-top,unused-import
  from pa_rl.environments import ogbench_names  # pylint: disable=g-import-not-at-top
  name = ogbench_names.parse_dataset_name(f"{dataset}-singletask-task{task}-v0")
  if name is None:
    raise ValueError(f"not an OGBench dataset name: {dataset!r}")
  env = gymnasium.make(name.env_id)
  inner = env.unwrapped
  if not hasattr(inner, "_cur_button_states"):
    raise ValueError(f"{dataset} is not a puzzle dataset")
  info = inner.task_infos[task - 1]
  steps = env.spec.max_episode_steps
  env.close()
  return (inner._num_rows, inner._num_cols, list(info["init_button_states"]),  # pylint: disable=protected-access
          list(info["goal_button_states"]), steps)


def main(argv=None) -> list[dict]:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
  parser.add_argument("--dataset", default="puzzle-3x3-play")
  parser.add_argument("--task", type=int, default=4, help="1-5 (4: puzzle-3x3's default)")
  parser.add_argument("--steps_per_press", type=float, default=33.0)
  parser.add_argument("--data", default=None,
                      help="an RLDS dataset of the task: measure steps_per_press from it")
  parser.add_argument("--discounts", default=",".join(map(str, DISCOUNTS)))
  args = parser.parse_args(argv)
  rows, cols, init, goal, episode_steps = task_buttons(args.dataset, args.task)
  steps_per_press = (steps_per_press_in_data(args.data) if args.data
                     else args.steps_per_press)
  fewest = fewest_presses(rows, cols, init, goal)
  print(f"{args.dataset} task {args.task}: {sum(a != b for a, b in zip(init, goal))} of "
        f"{rows * cols} buttons wrong at the start; the fewest presses that finish: {fewest} "
        f"(~{fewest * steps_per_press:.0f} steps at {steps_per_press:g} steps per press; "
        f"episodes of {episode_steps} steps)")
  print("| discount | optimal return | best finishing return | stop at start | "
        "optimal plan |")
  print("|---|---|---|---|---|")
  plans = []
  for discount in (float(d) for d in args.discounts.split(",")):
    plan = optimal_plan(rows, cols, init, goal, discount, steps_per_press)
    outcome = ("finishes" if plan["wrong_at_end"] == 0
               else f"stops with {plan['wrong_at_end']} wrong")
    print(f"| {discount:g} | {plan['value']:.0f} | {plan['finish_value']:.0f} | "
          f"{plan['stop_value']:.0f} | {plan['presses']} presses, {outcome} |")
    plans.append({"discount": discount, **plan})
  return plans


if __name__ == "__main__":
  main()
