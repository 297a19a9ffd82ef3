"""A gpiozero mock pin factory for one simulated node.

Two things in gpiozero 2.0 get in the way of several simulated nodes in one process and of
never touching the global `Device.pin_factory`, so this factory works around both:

- `SPISoftwareBus.__init__` calls `Device.__init__()` without its pin factory, which makes
  gpiozero look for (and install) a global default factory - on a PC that raises
  BadPinFactory. `_FactoryBoundDevice` hands the bus its own factory instead.
- shared SPI interfaces and buses are cached in `SharedMixin._instances`, one dict for the
  whole process keyed by pin numbers only, so a second node's MCP3008 would talk to the
  first node's emulator. Each factory gets classes with their own caches.
"""

from __future__ import annotations

from gpiozero import Device, OutputDevice
from gpiozero.devices import SharedMixin
from gpiozero.pins import SPI
from gpiozero.pins.mock import MockChargingPin, MockFactory, MockPWMPin
from gpiozero.pins.spi import SPISoftware, SPISoftwareBus


class _FactoryBoundDevice(Device):
    bound_factory = None

    def __init__(self, *, pin_factory=None):
        super().__init__(pin_factory=pin_factory or self.bound_factory)


class SimPinFactory(MockFactory):
    def __init__(self) -> None:
        super().__init__()
        bus_class = type("SimSPIBus", (SPISoftwareBus, _FactoryBoundDevice),
                         {"_instances": {}, "bound_factory": self})

        class SimSPI(SharedMixin, SPISoftware):
            _instances: dict = {}

            def __init__(self, clock_pin, mosi_pin, miso_pin, select_pin, *, pin_factory):
                # SPISoftware.__init__, with the factory-bound bus
                self._bus = None
                self._select = None
                SPI.__init__(self, pin_factory=pin_factory)
                try:
                    self._clock_phase = False
                    self._lsb_first = False
                    self._bits_per_word = 8
                    self._bus = bus_class(clock_pin, mosi_pin, miso_pin, pin_factory=pin_factory)
                    self._select = OutputDevice(select_pin, active_high=False,
                                                pin_factory=pin_factory)
                except BaseException:
                    self.close()
                    raise

            @classmethod
            def _shared_key(cls, clock_pin, mosi_pin, miso_pin, select_pin, pin_factory):
                return (clock_pin, select_pin)

        self._spi_class = SimSPI

    def pin(self, name, pin_class=None, **kwargs):
        # The simulation creates the pins whose other end it drives (a charging LDR, the
        # lamp output's PWM pin) before gpiozero asks for them by number, without a class;
        # gpiozero's own check would refuse a PWM pin asked for as a plain one.
        if pin_class is None:
            for _header, info in self.board_info.find_pin(name):
                if info in self.pins:
                    return self.pins[info]
        return super().pin(name, pin_class=pin_class, **kwargs)

    def _get_spi_class(self, shared, hardware):
        return self._spi_class


__all__ = ["MockPWMPin", "SimChargingPin", "SimPinFactory"]


class SimChargingPin(MockChargingPin):
    """`MockChargingPin` (an LDR + capacitor) whose charge time the simulation sets.

    Its `close()` also waits for the charging thread: gpiozero's leaves one running.
    """

    def set_light(self, value: float, charge_time_limit: float) -> None:
        """Make gpiozero's LightSensor read about `value` (0 dark .. 1 bright)."""
        value = min(1.0, max(0.0, value))
        # Dark must time out, not merely come close to the limit.
        self.charge_time = charge_time_limit * 2 if value <= 0 else (1 - value) * charge_time_limit

    def close(self):
        super().close()
        self._charge_stop.set()
        if self._charge_thread is not None:
            self._charge_thread.join()
