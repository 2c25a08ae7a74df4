"""Scripted expert for dm_control cartpole: energy-shaping swing-up, then an
LQR balance controller near upright.

Far from upright the controller pumps the pole's energy towards that of the
pole at rest upright (Astrom & Furuta, 2000, "Swinging up a pendulum by
energy control"), with a weak spring pulling the cart to the centre. Near
upright it switches to a discrete-time LQR, whose gains come from the suite's
own cartpole model linearised by MuJoCo finite differences.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np

from pa_rl.environments import behaviour

_GRAVITY = 9.81


@functools.lru_cache(maxsize=None)
def _cartpole_model() -> tuple[np.ndarray, float, float, float]:
  """LQR gains and pole constants of the suite's single-pole cartpole.

  Returns:
    ``(K, mass, com, inertia)``: the LQR gain ``[1, 4]`` on the state
    ``(x, theta, x_dot, theta_dot)`` (theta = 0 upright), the pole's mass,
    the distance of its centre of mass from the hinge, and its moment of
    inertia about the hinge.
  """
  # pylint: disable=g-import-not-at-top
  import mujoco
  import scipy.linalg
  from dm_control.suite import cartpole
  # pylint: enable=g-import-not-at-top
  physics = cartpole.Physics.from_xml_string(*cartpole.get_model_and_assets())
  model, data = physics.model.ptr, physics.data.ptr
  # MuJoCo's finite-difference linearisation does not support the RK4
  # integrator the task uses; at dt = 0.01 Euler's linearisation is as good.
  model.opt.integrator = mujoco.mjtIntegrator.mjINT_EULER
  mujoco.mj_resetData(model, data)
  mujoco.mj_forward(model, data)
  n = 2 * model.nv + model.na
  a = np.zeros((n, n))
  b = np.zeros((n, model.nu))
  mujoco.mjd_transitionFD(model, data, 1e-6, True, a, b, None, None)
  q = np.diag([1.0, 10.0, 0.1, 0.1])
  r = np.eye(model.nu)
  p = scipy.linalg.solve_discrete_are(a, b, q, r)
  gain = np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
  pole = model.body("pole_1").id
  mass = float(model.body_mass[pole])
  com = float(model.body_ipos[pole][2])
  inertia = float(model.body_inertia[pole][1]) + mass * com ** 2
  return gain, mass, com, inertia


class CartpoleExpert(behaviour.BehaviourPolicy):
  """Swings the single-pole cartpole up and balances it.

  Reads the suite's observation: ``position = (x, cos theta, sin theta)`` and
  ``velocity = (x_dot, theta_dot)``, with theta = 0 upright.
  """

  def __init__(self, rng: np.random.Generator, energy_gain: float = 5.0,
               centre_gain: float = 1.0, centre_damping: float = 1.0,
               switch_cosine: float = 0.8):
    """Builds the expert.

    Args:
      rng: unused (the expert is deterministic); kept for the interface.
      energy_gain: gain on the energy error during swing-up.
      centre_gain: spring pulling the cart to x = 0 during swing-up.
      centre_damping: damping on the cart's velocity during swing-up.
      switch_cosine: the LQR takes over once ``cos theta`` exceeds this.
    """
    super().__init__(rng)
    self.energy_gain = float(energy_gain)
    self.centre_gain = float(centre_gain)
    self.centre_damping = float(centre_damping)
    self.switch_cosine = float(switch_cosine)
    self._gain, self._mass, self._com, self._inertia = _cartpole_model()

  def select_action(self, observation: Mapping[str, Any]) -> np.ndarray:
    x, cos, sin = np.asarray(observation["position"], np.float64)[:3]
    x_dot, theta_dot = np.asarray(observation["velocity"], np.float64)[:2]
    if cos > self.switch_cosine:
      state = np.array([x, np.arctan2(sin, cos), x_dot, theta_dot])
      action = -self._gain @ state
    else:
      # Pole energy relative to resting upright (0 there, negative below).
      # dE/dt = -m l x_ddot theta_dot cos(theta), so pushing the cart
      # against sign(theta_dot cos(theta)) adds energy while E < 0.
      energy = (0.5 * self._inertia * theta_dot ** 2
                + self._mass * _GRAVITY * self._com * (cos - 1.0))
      direction = np.sign(theta_dot * cos) or 1.0
      action = np.array([self.energy_gain * energy * direction
                         - self.centre_gain * x - self.centre_damping * x_dot])
    return np.clip(action, -1.0, 1.0).astype(np.float32)
