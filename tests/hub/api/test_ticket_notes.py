"""The sensor's notes on a ticket come with a code and parameters, so a page in Urdu can
say them in Urdu; people's notes stay their own words."""

from hub.api.schemas import TicketEvent
from hub.rules.policy import POLICIES


def event(actor: str, note: str) -> dict:
    return TicketEvent(at=1.0, actor=actor, from_status=None, to_status="open",
                       note=note).model_dump()


def test_the_sensors_notes_carry_a_code_and_parameters_beside_the_english_text():
    found = event("sensor", f"{POLICIES['flicker'].title}, found by the sensor")
    assert (found["note_code"], found["note_params"]) == ("sensor_found", {"fault": "flicker"})
    assert found["note"] == "Flickering lamp, found by the sensor"
    night = event("sensor", "the lamp has worked at night for 30 min")
    assert (night["note_code"], night["note_params"]) == ("sensor_verified_night",
                                                          {"minutes": 30})
    day = event("sensor", "the lamp has stayed off by day for 45 min")
    assert day["note_code"] == "sensor_verified_day"
    again = event("sensor", "the fault is still there 20 min after the ticket was marked fixed")
    assert (again["note_code"], again["note_params"]) == ("sensor_reopened", {"minutes": 20})


def test_a_persons_note_is_never_turned_into_a_code_even_if_it_reads_like_the_sensors():
    crew = event("crew-korangi", "Flickering lamp, found by the sensor")
    assert crew["note_code"] is None and crew["note_params"] == {}
    odd = event("sensor", "something the sensor never says")
    assert odd["note_code"] is None
