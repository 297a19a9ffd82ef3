"""The node's own health: CPU temperature and uptime, read from files that can be injected."""

from __future__ import annotations

from pathlib import Path

from gpiozero import CPUTemperature

from node.sensors.base import Sensor, SensorReadError

DEFAULT_THERMAL_ZONE = "/sys/class/thermal/thermal_zone0/temp"
DEFAULT_UPTIME_FILE = "/proc/uptime"


class CpuTemperature(Sensor):
    """SoC temperature in °C via gpiozero's `CPUTemperature`.

    `pin_factory` is passed on because gpiozero otherwise looks for (and installs) a global
    default factory even though this device uses no pins.
    """

    name = "cpu_temp"

    def __init__(self, sensor_file: str | Path = DEFAULT_THERMAL_ZONE, *, pin_factory=None) -> None:
        super().__init__()
        self.sensor_file = str(sensor_file)
        self._cpu = CPUTemperature(sensor_file=self.sensor_file, pin_factory=pin_factory)

    def read(self) -> float:
        self._check_open()
        try:
            return float(self._cpu.temperature)
        except (OSError, ValueError) as err:
            raise SensorReadError(f"CPU temperature from {self.sensor_file}: {err}") from err

    def _close(self) -> None:
        self._cpu.close()

    def _describe(self) -> str:
        return f"file={self.sensor_file}"


class Uptime(Sensor):
    """Seconds since boot, from the first field of /proc/uptime."""

    name = "uptime"

    def __init__(self, uptime_file: str | Path = DEFAULT_UPTIME_FILE) -> None:
        super().__init__()
        self.uptime_file = Path(uptime_file)

    def read(self) -> int:
        self._check_open()
        try:
            return int(float(self.uptime_file.read_text().split()[0]))
        except (OSError, ValueError, IndexError) as err:
            raise SensorReadError(f"uptime from {self.uptime_file}: {err}") from err

    def _describe(self) -> str:
        return f"file={self.uptime_file}"
