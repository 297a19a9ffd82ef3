"""Ambient light at street level, in lux, from an MCP3008 channel or an LDR on a pin.

Both give a 0..1 value; the profile's linear calibration turns it into lux:
``lux = value * lux_full_scale``.
"""

from __future__ import annotations

from gpiozero import MCP3008, LightSensor
from gpiozero.exc import GPIOZeroError

from node.sensors.base import Sensor, SensorReadError


def adc_fraction(adc: MCP3008) -> float:
    """The conversion as 0..1 of full scale.

    Not `adc.value`: gpiozero maps the code onto a signed range, so code 0 reads 0.0005
    and a dark street would show half a lux.
    """
    return adc.raw_value / (2**adc.bits - 1)


def _to_lux(value: float, lux_full_scale: float) -> float:
    # ADC offsets can read a hair below zero; lux cannot be negative.
    return max(0.0, min(1.0, value)) * lux_full_scale


class AdcAmbientLight(Sensor):
    name = "ambient"

    def __init__(self, channel: int, *, lux_full_scale: float, spi_device: int = 0,
                 max_voltage: float = 3.3, pin_factory=None) -> None:
        super().__init__()
        self.lux_full_scale = lux_full_scale
        self._adc = MCP3008(channel, device=spi_device, max_voltage=max_voltage,
                            pin_factory=pin_factory)

    def read(self) -> float:
        self._check_open()
        try:
            value = adc_fraction(self._adc)
        except GPIOZeroError as err:
            raise SensorReadError(f"ambient light (MCP3008 ch{self._adc.channel}): {err}") from err
        return _to_lux(value, self.lux_full_scale)

    def _close(self) -> None:
        self._adc.close()

    def _describe(self) -> str:
        return f"MCP3008 ch{self._adc.channel} full_scale={self.lux_full_scale} lx"


class LdrAmbientLight(Sensor):
    name = "ambient"

    def __init__(self, pin: int, *, lux_full_scale: float, charge_time_limit: float = 0.01,
                 pin_factory=None) -> None:
        super().__init__()
        self.lux_full_scale = lux_full_scale
        self._ldr = LightSensor(pin, charge_time_limit=charge_time_limit, pin_factory=pin_factory)

    def read(self) -> float:
        self._check_open()
        return _to_lux(float(self._ldr.value), self.lux_full_scale)

    def _close(self) -> None:
        self._ldr.close()

    def _describe(self) -> str:
        return f"LightSensor {self._ldr.pin} full_scale={self.lux_full_scale} lx"
