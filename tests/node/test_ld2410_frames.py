"""The LD2410's reporting frames as the node decodes them, checked against the datasheet's
own examples and against what a noisy UART delivers."""

from __future__ import annotations

import pytest

from node.sensors import FrameReader, TargetReport
from node.sensors.ld2410_frames import decode_basic
from node.sim.ld2410 import report_frame

# HLK-LD2410 serial protocol, "report data in normal working mode": a stationary target;
# moving 81 cm / energy 0, stationary 0 cm / energy 59, detection distance 0 cm.
DATASHEET_BASIC = bytes.fromhex("F4F3F2F1 0D00 02AA 02 5100 00 0000 3B 0000 5500 F8F7F6F5")
# "Report data in engineering mode": both targets, then gate counts and per-gate energies.
DATASHEET_ENGINEERING = bytes.fromhex(
    "F4F3F2F1 2300 01AA 03 1E00 3C 0000 39 0000 0808"
    " 3C22050303040306 05 0000391013060608 04 0305 5500 F8F7F6F5")
WALKER = report_frame(1, moving_cm=150, moving_energy=70, detection_cm=150)
NOBODY = report_frame(0)


def feed(*chunks: bytes) -> tuple[FrameReader, list[TargetReport]]:
    reader = FrameReader()
    reports = [r for chunk in chunks for r in reader.feed(chunk)]
    return reader, reports


def test_the_datasheet_example_decodes_to_its_stated_values():
    reader, reports = feed(DATASHEET_BASIC)
    assert reports == [TargetReport(state=2, moving_cm=81, moving_energy=0, stationary_cm=0,
                                    stationary_energy=59, detection_cm=0)]
    assert (reader.frames_ok, reader.frames_bad, reader.bytes_skipped) == (1, 0, 0)


def test_the_emulator_builds_the_datasheet_frame_byte_for_byte():
    assert report_frame(2, 81, 0, 0, 59, 0) == DATASHEET_BASIC
    assert len(report_frame(3, 30, 60, 0, 57, engineering=True)) == len(DATASHEET_ENGINEERING)


def test_engineering_mode_frames_are_recognised_and_set_aside():
    reader, reports = feed(DATASHEET_ENGINEERING, WALKER)
    assert [r.moving_cm for r in reports] == [150]
    assert (reader.frames_ok, reader.frames_ignored, reader.frames_bad) == (1, 1, 0)


def test_garbage_before_a_frame_is_skipped_and_counted():
    reader, reports = feed(b"\x00\xff\x13\xf4\xf3" + WALKER)
    assert [r.state for r in reports] == [1]
    assert reader.bytes_skipped == 5 and reader.frames_bad == 0


def test_garbage_inside_a_frame_spoils_that_frame_only():
    spoiled = WALKER[:9] + b"\x42\x42" + WALKER[9:]
    reader, reports = feed(spoiled, NOBODY, WALKER)
    assert [r.state for r in reports] == [0, 1]
    assert reader.frames_bad == 1


def test_a_truncated_frame_followed_by_a_whole_one_loses_only_itself():
    reader, reports = feed(WALKER[:12] + NOBODY)
    assert [r.state for r in reports] == [0]
    assert reader.frames_bad == 1


def test_a_frame_split_anywhere_across_reads_still_decodes():
    stream = NOBODY + WALKER + NOBODY
    for cut in range(1, len(stream)):
        reader, reports = feed(stream[:cut], stream[cut:])
        assert [r.state for r in reports] == [0, 1, 0], f"cut at {cut}"
        assert reader.frames_bad == 0 and reader.bytes_skipped == 0


def test_byte_by_byte_delivery_decodes_every_frame():
    stream = b"\xf4" + WALKER + b"\xf4\xf3\xf2" + NOBODY
    reader = FrameReader()
    reports = [r for byte in stream for r in reader.feed(bytes([byte]))]
    assert [r.state for r in reports] == [1, 0]


def test_an_absurd_length_does_not_stall_the_stream():
    bogus = bytes.fromhex("F4F3F2F1 FFFF") + b"\x00" * 3
    reader, reports = feed(bogus + WALKER)
    assert [r.state for r in reports] == [1]
    assert reader.frames_bad == 1


def test_an_incomplete_frame_waits_for_the_rest():
    reader, reports = feed(WALKER[:-1])
    assert reports == [] and reader.frames_bad == 0
    assert [r.state for r in reader.feed(WALKER[-1:])] == [1]


def test_a_target_state_outside_0_to_3_is_a_bad_frame():
    broken = bytearray(WALKER)
    broken[8] = 7
    reader, reports = feed(bytes(broken), NOBODY)
    assert [r.state for r in reports] == [0]
    assert reader.frames_bad == 1


def test_a_frame_of_an_unknown_type_is_ignored_not_bad():
    other = bytearray(NOBODY)
    other[6] = 0x05
    reader, reports = feed(bytes(other))
    assert reports == [] and reader.frames_ignored == 1 and reader.frames_bad == 0


def test_decode_refuses_what_is_not_a_basic_report():
    with pytest.raises(ValueError, match="not a basic LD2410 report"):
        decode_basic(DATASHEET_ENGINEERING[6:-4])


@pytest.mark.parametrize(("report", "max_cm", "within"), [
    (TargetReport(0, 0, 0, 0, 0, 0), None, False),
    (TargetReport(1, 150, 70, 0, 0, 150), None, True),
    (TargetReport(1, 150, 70, 0, 0, 150), 400, True),
    (TargetReport(1, 520, 70, 0, 0, 520), 400, False),
    (TargetReport(2, 0, 0, 90, 40, 90), 400, True),
    # the road moves beyond the pavement, someone waits under the lamp: present
    (TargetReport(3, 550, 60, 120, 40, 120), 400, True),
])
def test_someone_within_the_pavement(report, max_cm, within):
    assert report.someone_within(max_cm) is within
