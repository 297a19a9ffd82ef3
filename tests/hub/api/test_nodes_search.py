"""Finding a node among many: `GET /api/v1/nodes?q=` matches the id, the pole number or
the area's name, any case, within the user's own scope, and pages like every list."""

from tests.hub.api.conftest import World


def ids(world: World, user: str, **params: object) -> tuple[list[str], int]:
    r = world.get(user, "/api/v1/nodes", **params)
    assert r.status_code == 200, r.text
    return [n["id"] for n in r.json()["data"]], r.json()["count"]


def test_a_node_is_found_by_its_id_pole_or_area_name(world: World):
    assert ids(world, "tariq", q="kor-0003") == (["khi-kor-0003"], 1)
    assert ids(world, "tariq", q="k6-02") == (["khi-kor-0002"], 1)  # pole, any case
    found, count = ids(world, "tariq", q="malir cantt")
    assert "khi-mal-0001" in found and all(n.startswith("khi-mal") for n in found)
    # paging through the matches: the count is of all of them
    first, count = ids(world, "tariq", q="khi-kor", limit=1)
    second, again = ids(world, "tariq", q="khi-kor", limit=1, offset=1)
    assert count == again >= 3 and first != second
    # a pattern's wildcards are plain letters: "%" finds nothing, not everything
    assert ids(world, "tariq", q="%") == ([], 0)
    assert ids(world, "tariq", q="_") == ([], 0)


def test_search_stays_within_the_users_scope(world: World):
    # kiran's committee has Korangi 5 only: Malir's node is not found by its name
    assert ids(world, "kiran", q="khi-mal-0001") == ([], 0)
    found, _ = ids(world, "kiran", q="khi-kor")
    assert "khi-kor-0001" in found and "khi-kor-0002" not in found


def test_an_overlong_search_is_a_clear_422(world: World):
    r = world.get("tariq", "/api/v1/nodes", q="x" * 101)
    assert r.status_code == 422 and "detail" in r.json()
