from __future__ import annotations

from hub.lineproto import line, reading_line, series_key
from protocol.payloads import Reading


def test_fields_keep_their_schema_type_whatever_the_json_looked_like():
    r = Reading.model_validate({"v": 1, "node": "khi-kor-0042", "seq": 5, "ts": 1.8e9,
                                "lux": 3, "lamp_on": False, "footfall": 0})
    key = series_key("reading", {"node": "khi-kor-0042", "district": "korangi",
                                 "area": "Korangi 5, Sector B"})
    assert reading_line(key, r, 1_800_000_000_000_000) == (
        r"reading,area=Korangi\ 5\,\ Sector\ B,district=korangi,node=khi-kor-0042 "
        "seq=5i,lamp_on=false,lux=3.0,footfall=0i 1800000000000000")


def test_string_fields_are_quoted_and_escaped():
    assert line("event,node=x", {"note": 'say "hi"\\', "n": 2, "ok": True}, 7) == \
        'event,node=x note="say \\"hi\\"\\\\",n=2i,ok=true 7'
    assert line("event,node=x", {"nothing": None}, 7) is None
