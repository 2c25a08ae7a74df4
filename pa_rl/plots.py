"""Pictures of a run: the learning curve (PNG) and policy rollouts (GIF).

Uses matplotlib's Agg backend (no display needed) and PIL.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

from pa_rl import metrics_writer

# (panel title, y label, [(group, column, legend label)], x column)
_PANELS = (
    ("Evaluation success rate", "success rate",
     [("eval", "eval/success", "evaluation")], "step"),
    ("Evaluation return", "mean episode return",
     [("eval", "eval/return", "evaluation")], "step"),
    ("Online episodes", "episode return",
     [("online", "online/return", "exploration episode")], "online/env_steps"),
    ("Critic loss", "loss", [("train", "critic/loss", "critic"),
                             ("online", "critic/loss", "critic (online)")], "step"),
    ("Policy loss", "loss", [("train", "policy/loss", "policy"),
                             ("online", "policy/loss", "policy (online)")], "step"),
    ("Q values", "Q (ensemble mean)",
     [("train", "critic/q_data", "dataset actions"),
      ("train", "action_opt/q_selected", "optimized actions"),
      ("online", "critic/q_data", "batch actions (online)"),
      ("online", "action_opt/q_selected", "optimized actions (online)")], "step"),
    ("Action-optimization Q gain", "Q gain",
     [("train", "action_opt/global_gain", "global (top-k)"),
      ("train", "action_opt/local_gain", "local (gradient steps)"),
      ("online", "action_opt/global_gain", "global (online)"),
      ("online", "action_opt/local_gain", "local (online)")], "step"),
)
_X_LABELS = {"step": "learner updates", "online/env_steps": "environment steps (online)"}


def _series(rows, x_key, y_key):
  pairs = [(r.get(x_key, math.nan), r.get(y_key, math.nan)) for r in rows]
  pairs = [(x, y) for x, y in pairs if math.isfinite(x) and math.isfinite(y)]
  if not pairs:
    return None
  xs, ys = zip(*sorted(pairs))
  return np.asarray(xs), np.asarray(ys)


def learning_curve(logdir: str, path: str, title: str = "") -> str | None:
  """Draws the metrics CSVs of ``logdir`` (train / eval / online) to ``path``.

  One panel per quantity that was logged: evaluation success and return,
  online episode returns, critic and policy losses, Q values of the data's
  and of the optimized actions, action-optimization gains. Returns ``path``, or None when ``logdir`` holds no metrics.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  groups = {g: metrics_writer.read_csv(os.path.join(logdir, f"{g}.csv"))
            for g in ("train", "eval", "online")}
  panels = []
  for panel_title, ylabel, lines, x_key in _PANELS:
    drawn = []
    for group, column, label in lines:
      series = _series(groups[group], x_key, column)
      if series is not None:
        drawn.append((label, *series))
    if drawn:
      panels.append((panel_title, ylabel, x_key, drawn))
  if not panels:
    return None
  cols = 2 if len(panels) > 1 else 1
  rows = math.ceil(len(panels) / cols)
  fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3.6 * rows), squeeze=False)
  for ax, (panel_title, ylabel, x_key, drawn) in zip(axes.flat, panels):
    for label, xs, ys in drawn:
      many = len(xs) > 40
      ax.plot(xs, ys, "-" if many else "-o", markersize=4, label=label,
              alpha=0.35 if many and x_key != "step" else 1.0)
      if many and x_key != "step":  # Noisy per-episode values: add a running mean.
        window = max(2, len(ys) // 20)
        smooth = np.convolve(ys, np.ones(window) / window, mode="valid")
        ax.plot(xs[window - 1:], smooth, "-", label=f"{label} (mean of {window})")
    if panel_title.startswith("Evaluation success"):
      ax.set_ylim(-0.05, 1.05)
    ax.set_title(panel_title)
    ax.set_xlabel(_X_LABELS[x_key])
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(drawn) > 1 or panel_title == "Online episodes":
      ax.legend(fontsize=8)
  for ax in list(axes.flat)[len(panels):]:
    ax.axis("off")
  if title:
    fig.suptitle(title)
  fig.tight_layout(rect=(0, 0, 1, 0.97) if title else None)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def write_gif(frames: Sequence[np.ndarray], path: str, fps: float = 15.0,
              min_size: int = 256, captions: Sequence[str] | None = None,
              hold: Sequence[int] = ()) -> str:
  """Writes ``uint8 [H, W, 3]`` frames as a looping GIF.

  Args:
    frames: the images.
    path: the ``.gif`` to write (atomically).
    fps: playback speed.
    min_size: small frames are enlarged (nearest neighbour) to at least this
      many pixels, so the result is easy to see.
    captions: one line of text per frame, drawn in a band under it.
    hold: indices of frames shown for a second (e.g. each episode's last);
      the last frame always is.
  """
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from PIL import ImageDraw  # pylint: disable=g-import-not-at-top
  if not frames:
    raise ValueError("write_gif needs at least one frame")
  if captions is not None and len(captions) != len(frames):
    raise ValueError(f"{len(captions)} captions for {len(frames)} frames")
  images = []
  for i, frame in enumerate(frames):
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
      raise ValueError(f"frames must be uint8 [H, W, 3]; got {frame.dtype} {frame.shape}")
    scale = max(1, math.ceil(min_size / max(frame.shape[:2])))
    if scale > 1:
      frame = frame.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(frame)
    if captions is not None:
      band = Image.new("RGB", (image.width, image.height + 18), (255, 255, 255))
      band.paste(image, (0, 0))
      ImageDraw.Draw(band).text((4, image.height + 3), captions[i], fill=(0, 0, 0))
      image = band
    images.append(image)
  duration = [int(1000 / fps)] * len(images)
  for i in list(hold) + [len(images) - 1]:
    duration[i] = 1000
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + ".tmp.gif"
  images[0].save(tmp, save_all=True, append_images=images[1:], duration=duration, loop=0)
  os.replace(tmp, path)
  return path


def two_routes_picture(panels: Sequence[tuple[str, Sequence[np.ndarray], Sequence[bool]]],
                       path: str, obstacle_radius: float = 0.35,
                       goal_radius: float = 0.1) -> str:
  """Draws `two_routes` paths side by side (e.g. the data, then a policy).

  Args:
    panels: ``(title, paths, successes)`` per panel; each path is the
      ``[T, 2]`` positions of one episode.
    path: the PNG to write.
    obstacle_radius, goal_radius: the task's geometry.

  Returns:
    ``path``.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  from pa_rl.environments import two_routes  # pylint: disable=g-import-not-at-top

  fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.9), squeeze=False)
  for ax, (title, paths, successes) in zip(axes.flat, panels):
    ax.add_patch(plt.Circle(two_routes.OBSTACLE_CENTER, obstacle_radius, color="0.45"))
    ax.add_patch(plt.Circle(two_routes.GOAL, goal_radius, color="tab:green", alpha=0.8))
    for trail, success in zip(paths, successes):
      trail = np.asarray(trail).reshape(-1, 2)
      ax.plot(trail[:, 0], trail[:, 1], "-", lw=0.8, alpha=0.5,
              color="tab:blue" if success else "tab:red")
    rate = 100 * float(np.mean(successes)) if len(successes) else float("nan")
    ax.set_title(f"{title}\n{len(paths)} episodes, {rate:.0f}% reach the goal", fontsize=10)
    ax.set_xlim(-two_routes.ARENA, two_routes.ARENA)
    ax.set_ylim(-two_routes.ARENA, two_routes.ARENA)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
  fig.text(0.5, 0.01, "blue: reached the goal (green); red: crashed into the obstacle or "
           "ran out of time", ha="center", fontsize=8)
  fig.tight_layout(rect=(0, 0.04, 1, 0.97))
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + ".tmp.png"
  fig.savefig(tmp, dpi=100)
  plt.close(fig)
  os.replace(tmp, path)
  return path
