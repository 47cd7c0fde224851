"""CodeSystem/$lookup: display, definition, designations, properties, hierarchy, supplements."""

from __future__ import annotations

from tests.terminology.conftest import R4, R5, SHAPES, out, param, post


def props(response) -> dict[str, list]:
    found: dict[str, list] = {}
    for p in response.get_json()["parameter"]:
        if p["name"] == "property":
            parts = {x["name"]: x for x in p["part"]}
            value = next(v for k, v in parts["value"].items() if k.startswith("value"))
            found.setdefault(parts["code"]["valueCode"], []).append(value)
    return found


def test_lookup__by_get__returns_name_version_display_and_definition(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/$lookup", query_string={"system": SHAPES, "code": "polygon"})
    assert response.status_code == 200
    assert out(response, "name") == "Shapes"
    assert out(response, "version") == "2.0.0"
    assert out(response, "display") == "Polygon"
    assert out(response, "definition") == "A closed figure with straight sides"
    assert out(response, "abstract") is True


def test_lookup__by_post_coding__returns_properties_and_hierarchy(tx) -> None:
    response = post(
        tx, f"{R5}/CodeSystem/$lookup", param("coding", {"system": SHAPES, "code": "quadrilateral"})
    )
    found = props(response)
    assert found["sides"] == [4]
    assert found["parent"] == ["polygon"]
    assert sorted(found["child"]) == ["rhombus", "square"]
    assert found["inactive"] == [False]


def test_lookup__property_parameter__limits_what_is_returned(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/$lookup", query_string={"system": SHAPES, "code": "square", "property": "parent"}
    )
    assert set(props(response)) == {"parent"}


def test_lookup__display_language__uses_the_designation(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/$lookup", query_string={"system": SHAPES, "code": "square", "displayLanguage": "de"}
    )
    assert out(response, "display") == "Quadrat"


def test_lookup__supplement__adds_its_designation_and_is_reported(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/$lookup",
        query_string={
            "system": SHAPES,
            "code": "square",
            "useSupplement": "http://example.org/fhir/CodeSystem/shapes-fr",
        },
    )
    designations = [
        {x["name"]: next(v for k, v in x.items() if k.startswith("value")) for x in p["part"]}
        for p in response.get_json()["parameter"]
        if p["name"] == "designation"
    ]
    assert {
        "language": "fr",
        "source": "http://example.org/fhir/CodeSystem/shapes-fr|1",
        "value": "Carré",
    } in designations
    assert out(response, "used-supplement") == "http://example.org/fhir/CodeSystem/shapes-fr|1"


def test_lookup__older_version__is_looked_up_in_that_version(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/$lookup", query_string={"system": SHAPES, "version": "1.0.0", "code": "circle"}
    )
    assert response.status_code == 404


def test_lookup__instance_level__uses_that_code_system(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/shapes-2.0.0/$lookup", query_string={"code": "circle"})
    assert out(response, "display") == "Circle"


def test_lookup__unknown_code__is_404_with_the_catalog_message(tx) -> None:
    response = tx.get(f"{R5}/CodeSystem/$lookup", query_string={"system": SHAPES, "code": "hexagon"})
    assert response.status_code == 404
    assert response.get_json()["issue"][0]["details"]["text"] == (
        f"Unknown code 'hexagon' in the CodeSystem '{SHAPES}' version '2.0.0'"
    )


def test_lookup__unknown_system__is_404(tx) -> None:
    response = tx.get(
        f"{R5}/CodeSystem/$lookup", query_string={"system": "http://nowhere.example/cs", "code": "x"}
    )
    assert response.status_code == 404


def test_lookup__missing_code__is_400(tx) -> None:
    response = tx.get(f"{R4}/CodeSystem/$lookup", query_string={"system": SHAPES})
    assert response.status_code == 400
