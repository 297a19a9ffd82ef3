"""A behavioural MCP3008: answers SPI conversions on mock pins with the channel's voltage."""

from __future__ import annotations

from gpiozero.pins.mock import MockSPIDevice

SPI0_CLOCK, SPI0_MOSI, SPI0_MISO = 11, 10, 9
SPI0_SELECT = (8, 7)


class Mcp3008Emulator(MockSPIDevice):
    """The slave side of an MCP3008 on SPI0, chip select CE`device`.

    Set `voltages[ch]`; each conversion reads the channel as the chip would: start bit,
    single/differential bit, three channel bits, then a null bit and 10 bits MSB first.
    Create it before the gpiozero devices that read it: it must own the clock and select pins.
    """

    def __init__(self, *, pin_factory, device: int = 0, vref: float = 3.3) -> None:
        super().__init__(SPI0_CLOCK, SPI0_MOSI, SPI0_MISO, SPI0_SELECT[device],
                         pin_factory=pin_factory)
        self.vref = vref
        self.voltages = [0.0] * 8
        self.conversions = 0
        self._state = "idle"
        self._single = True

    def on_start(self) -> None:
        super().on_start()
        self._state = "idle"

    def on_bit(self) -> None:
        if self._state == "idle":
            if self.rx_buf[-1]:
                self._state, self.rx_buf = "mode", []
        elif self._state == "mode":
            self._single = bool(self.rx_buf[-1])
            self._state, self.rx_buf = "channel", []
        elif self._state == "channel" and len(self.rx_buf) == 3:
            self.tx_word(self.code(self.rx_word()), 12)  # sample bit, null bit, 10 data bits
            self.conversions += 1
            self._state = "result"

    def code(self, channel: int) -> int:
        volts = self.voltages[channel]
        if not self._single:  # IN+ = channel, IN- = its pair
            volts -= self.voltages[channel ^ 1]
        return round(min(max(volts, 0.0), self.vref) / self.vref * 1023)
