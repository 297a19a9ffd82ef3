"""The node's sensors, gpiozero style: one small class each, pins and ports injected.

Every sensor has `read()`, `close()`, works as a context manager, and raises
`SensorReadError` (also an `OSError`) when one reading fails.
"""

from node.sensors.ambient import AdcAmbientLight, LdrAmbientLight
from node.sensors.base import Sensor, SensorError, SensorReadError
from node.sensors.footfall import FootfallCounter
from node.sensors.lamp import AdcLampSensor, LdrLampSensor, RelayFeedback, lamp_on_from_power
from node.sensors.presence import FootfallCount, PresenceTally
from node.sensors.pzem import EnergyReading, Pzem004t, decode_registers
from node.sensors.system import CpuTemperature, Uptime
from node.sensors.tamper import TamperSwitch

# The radar's modules load only when a profile has one (most nodes have a PIR): the agent
# imports nothing it does not run (issue 12, the 40 MB budget).
_LAZY = {"Ld2410": "node.sensors.radar", "FrameReader": "node.sensors.ld2410_frames",
         "TargetReport": "node.sensors.ld2410_frames"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AdcAmbientLight", "AdcLampSensor", "CpuTemperature", "EnergyReading", "FootfallCount",
    "FootfallCounter", "FrameReader", "Ld2410", "LdrAmbientLight", "LdrLampSensor",
    "PresenceTally", "Pzem004t", "RelayFeedback", "Sensor", "SensorError", "SensorReadError",
    "TamperSwitch", "TargetReport", "Uptime", "decode_registers", "lamp_on_from_power",
]
