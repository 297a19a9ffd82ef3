"""Is the lamp burning? Three ways to tell, one class each, all answering `read() -> bool`.

- a lamp-facing light sensor: a photodiode on an MCP3008 channel, or an LDR on a GPIO pin;
- the feedback contact of the lamp's relay/contactor;
- the lamp's own power draw, from the energy meter (`lamp_on_from_power`).
"""

from __future__ import annotations

from gpiozero import MCP3008, DigitalInputDevice, LightSensor
from gpiozero.exc import GPIOZeroError

from node.sensors.ambient import adc_fraction
from node.sensors.base import Sensor, SensorReadError


class AdcLampSensor(Sensor):
    """Lamp-facing photodiode on an MCP3008 channel; burning above `on_above` of full scale."""

    name = "lamp"

    def __init__(self, channel: int, *, on_above: float, spi_device: int = 0,
                 max_voltage: float = 3.3, pin_factory=None) -> None:
        super().__init__()
        self.on_above = on_above
        self._adc = MCP3008(channel, device=spi_device, max_voltage=max_voltage,
                            pin_factory=pin_factory)

    @property
    def value(self) -> float:
        """Light on the photodiode, 0 (dark) to 1 (full scale)."""
        self._check_open()
        try:
            return adc_fraction(self._adc)
        except GPIOZeroError as err:
            raise SensorReadError(
                f"lamp photodiode (MCP3008 ch{self._adc.channel}): {err}") from err

    def read(self) -> bool:
        return self.value > self.on_above

    def _close(self) -> None:
        self._adc.close()

    def _describe(self) -> str:
        return f"MCP3008 ch{self._adc.channel} on_above={self.on_above}"


class LdrLampSensor(Sensor):
    """Lamp-facing LDR + capacitor on a GPIO pin (gpiozero `LightSensor`)."""

    name = "lamp"

    def __init__(self, pin: int, *, on_above: float, charge_time_limit: float = 0.01,
                 pin_factory=None) -> None:
        super().__init__()
        self._ldr = LightSensor(pin, threshold=on_above, charge_time_limit=charge_time_limit,
                                pin_factory=pin_factory)

    @property
    def value(self) -> float:
        self._check_open()
        return float(self._ldr.value)

    def read(self) -> bool:
        self._check_open()
        return bool(self._ldr.light_detected)

    def _close(self) -> None:
        self._ldr.close()

    def _describe(self) -> str:
        return f"LightSensor {self._ldr.pin} on_above={self._ldr.threshold}"


class RelayFeedback(Sensor):
    """Auxiliary contact of the lamp's relay: closed while the lamp is switched on.

    With `pull_up=True` the contact pulls the pin to ground, so low means on (gpiozero's
    `DigitalInputDevice` inverts for us).
    """

    name = "lamp"

    def __init__(self, pin: int, *, pull_up: bool = False, pin_factory=None) -> None:
        super().__init__()
        self._input = DigitalInputDevice(pin, pull_up=pull_up, pin_factory=pin_factory)

    def read(self) -> bool:
        self._check_open()
        return bool(self._input.is_active)

    def _close(self) -> None:
        self._input.close()

    def _describe(self) -> str:
        return f"relay feedback {self._input.pin} pull_up={self._input.pull_up}"


def lamp_on_from_power(lamp_w: float, on_above_w: float) -> bool:
    """The lamp burns when it draws more than a standby driver does."""
    return lamp_w > on_above_w
