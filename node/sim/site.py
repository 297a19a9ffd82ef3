"""What a simulated pole offers beyond its wires: a technician who follows the self-test's
instructions, and the operating system's clock synchronisation as the scenario sets it."""

from __future__ import annotations

import logging
import threading

from node.clock import Clock
from node.sim.world import World

log = logging.getLogger(__name__)


class SimTechnician:
    """Does what the self-test asks a moment after being asked, like a person would."""

    def __init__(self, world: World, clock: Clock, *, delay_s: float = 0.5,
                 hold_s: float = 5.0) -> None:
        self.world = world
        self.clock = clock
        self.delay_s = delay_s
        self.hold_s = hold_s

    def ask(self, instruction: str) -> None:
        log.info("simulated technician: %s", instruction)
        timer = threading.Timer(self.delay_s, lambda: self.world.technician_acts(
            self.clock.now(), self.hold_s * getattr(self.clock, "speed", 1.0)))
        timer.daemon = True
        timer.start()


class Simulation:
    def __init__(self, world: World, clock: Clock) -> None:
        self.world = world
        self.technician = SimTechnician(world, clock)

    def clock_synchronised(self) -> bool:
        return self.world.scenario.install.clock_synchronised
