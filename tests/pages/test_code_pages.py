"""/codes and /codes/{code}: one page per family code and per modifier row, generated from the FHIR
content and the rule and fact data, as HTML or JSON; the seed page's four errors stay corrected."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from plugin.app import create_app
from plugin.pages import code_page_url
from tests.conftest import test_settings as base_settings

from .conftest import FHIR_BUNDLES, ROOT, every_fact, family_codes, modifier_map_rows

SECTIONS = (
    "summary", "covers", "age", "approach", "included", "documentation", "modifiers", "site",
    "medicare", "payers", "edits", "sources",
)  # fmt: skip


BLOCKS = frozenset({"p", "li", "td", "th", "h1", "h2", "title", "section", "table", "ul", "ol"})


class Text(HTMLParser):
    """The visible text of a page, one string per element's text run."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.skip += tag in ("style", "script")
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("style", "script")
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"[ \t\r]+", " ", " ".join(self.parts))


def page_text(html: str) -> str:
    parser = Text()
    parser.feed(html)
    return parser.text


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.;])\s+|\n", text) if s.strip()]


def test_codes__every_family_code_links_to_its_page(json_get) -> None:
    body = json_get("/codes").get_json()
    assert [row["code"] for row in body["codes"]] == family_codes()
    for row in body["codes"]:
        assert row["url"] == f"/codes/{row['code']}" and row["display"]
        assert json_get(row["url"]).status_code == 200
    assert {p["code"] for p in body["modifierPages"]} == {f"33952:{m}" for m in modifier_map_rows()}


def test_code_page__every_section_and_each_fact_with_a_dated_source(json_get) -> None:
    page = json_get("/codes/33952").get_json()
    for section in SECTIONS:
        assert page[section], f"section {section} is empty"
    numbers = {s["n"] for s in page["sources"]}
    facts = every_fact({k: v for k, v in page.items() if k != "sources"})
    assert len(facts) > 80
    for item in facts:
        # A finding the sources do not settle says so instead of citing one.
        assert item["refs"] or item.get("confidence") == "not verified", item
        assert set(item["refs"]) <= numbers, item
    # Every source shows its date, or says the research did not record one.
    html = page_text(create_client().get("/codes/33952").get_data(as_text=True))
    assert html.count("date not given") + html.count("as of ") >= len(page["sources"])
    dated = [s for s in page["sources"] if s.get("asOf")]
    assert len(dated) >= len(page["sources"]) // 2


def create_client(**content: str):
    from tempfile import mkdtemp

    settings = base_settings(Path(mkdtemp()))
    if content:
        settings["content"] = content
    return create_app(settings).test_client()


def test_code_page__facts_of_33952(json_get) -> None:
    page = json_get("/codes/33952").get_json()
    assert page["age"]["ageMin"] == 6 and page["age"]["ageMax"] is None
    assert page["age"]["band"] == "6 years and older"
    assert [c["code"] for c in page["age"]["counterparts"]] == ["33951"]
    assert page["approach"][0]["label"] == "Percutaneous"
    indicators = {i["field"]: i["text"] for i in page["medicare"]["indicators"]}
    assert (
        indicators["pcTc"] == "0" and indicators["global"] == "000" and indicators["nonFacilityPrice"] == "NA"
    )
    assert page["site"]["nonFacilityPrice"]["text"] == "NA"
    assert page["edits"]["mue"]["text"] == "1" and page["edits"]["mue"]["mai"] == "3"
    assert any("33951" in e["codes"] for e in page["edits"]["bundledInto"])
    payers = {p["kind"]: p for p in page["payers"]["payers"]}
    assert payers["aetna"]["confidence"] == "not verified" and payers["cigna"]["confidence"] == "not verified"
    elements = page["documentation"]["elements"]
    assert len(elements) == 10 and all(
        e["confidence"] in {"High", "Medium", "Low", "not verified"} for e in elements
    )
    # The PFS table built from the CY2023 January release: national facility amount, no office price.
    payment = page["medicare"]["payment"]
    assert payment["facility"] == "422.91" and payment["nonFacility"] is None
    assert "422.91 USD (facility)" in create_client().get("/codes/33952").get_data(as_text=True)


def test_code_page__a_payers_facility_list_is_that_payers_own(json_get) -> None:
    page = json_get("/codes/33952").get_json()
    [uhc] = page["site"]["payerPlaces"]
    assert uhc["payer"] == "UnitedHealthcare" and uhc["confidence"] == "Medium" and uhc["refs"]
    assert uhc["text"].startswith("UnitedHealthcare's multiple-procedure policy")
    assert "POS 31" in uhc["text"] or ", 31," in uhc["text"]
    assert uhc["text"].endswith("For other payers these are not verified.")
    # The CMS settings list stays the CMS code set's: no payer's codes among them.
    assert {p["code"] for p in page["site"]["cmsPlaces"]} <= {"11", "19", "21", "22", "23", "24"}
    html = page_text(create_client().get("/codes/33952").get_data(as_text=True))
    assert "A payer's own facility list (that payer only):" in html


def test_code_page__documentation_elements_not_called_required() -> None:
    # Most elements are Medium or Low (AAPC articles, one clinician's template) or not verified.
    html = page_text(create_client().get("/codes/33952").get_data(as_text=True))
    assert "must document" not in html
    assert "may carry so the code can be chosen and defended" in html


def test_seed_error_1__33952_is_not_pediatric_only(client, json_get) -> None:
    page = json_get("/codes/33952").get_json()
    assert "adults included" in page["age"]["facts"][0]["text"]
    for sentence in sentences(page_text(client.get("/codes/33952").get_data(as_text=True))):
        if re.search(r"pediatric", sentence, re.IGNORECASE):
            assert re.search(r"\bnot pediatric|pediatric criteria", sentence), sentence


def test_seed_error_2__fluoroscopy_included_only_when_performed(client, json_get) -> None:
    page = json_get("/codes/33952").get_json()
    assert any("fluoroscop" in f["text"].lower() and "when performed" in f["text"] for f in page["included"])
    text = page_text(client.get("/codes/33952").get_data(as_text=True))
    claims = [
        s
        for s in sentences(text)
        if re.search(r"fluoroscop", s, re.I) and re.search(r"includ|part of", s, re.I)
    ]
    assert claims
    for sentence in claims:
        assert re.search(r"when (performed|it is used)", sentence), sentence


def test_seed_error_3__no_modifier_00(client, json_get) -> None:
    rows = json_get("/codes/33952").get_json()["modifiers"]["rows"]
    assert "00" not in {r["modifier"] for r in rows}
    assert json_get("/codes/33952:00").status_code == 404
    assert client.get("/codes/33952:00").status_code == 404
    assert 'data-modifier="00"' not in client.get("/codes/33952").get_data(as_text=True)


def test_seed_error_4__every_modifier_is_named_and_exists(json_get) -> None:
    rows = json_get("/codes/33952").get_json()["modifiers"]["rows"]
    known = {}
    for name in ("cpt-ecmo-fragment.json", "hcpcs-modifiers-fragment.json"):
        system = json.loads((FHIR_BUNDLES / "codesystems" / name).read_text(encoding="utf-8"))
        known |= {c["code"]: c["display"] for c in system["concept"]}
    for row in rows:
        assert re.fullmatch(r"[0-9A-Z]{2}", row["modifier"]), row
        assert row["name"] == known[row["modifier"]]
        assert row["name"].lower() != "outpatient" and row["categoryDisplay"] and row["text"]


def test_modifier_table__matches_the_concept_map(json_get) -> None:
    rows = json_get("/codes/33952").get_json()["modifiers"]["rows"]
    assert {r["modifier"]: r["category"] for r in rows} == modifier_map_rows()


def test_modifier_row_page(client, json_get) -> None:
    page = json_get("/codes/33952:62").get_json()
    assert page["kind"] == "modifier" and page["base"]["code"] == "33952"
    assert page["applicability"]["category"] == modifier_map_rows()["62"]
    assert page["applicability"]["text"].startswith("Medicare will not pay")
    assert page["applicability"]["refs"] and page["sources"]
    html = client.get("/codes/33952:62").get_data(as_text=True)
    assert "Not paid by Medicare with this base code" in html


def test_unknown_code__404_json_for_json_clients_and_html_otherwise(client, json_get) -> None:
    for path in ("/codes/99999", "/codes/33952:99", "/codes/not-a-code", "/codes/33952/62"):
        response = json_get(path)
        assert response.status_code == 404 and response.mimetype == "application/json", path
        assert response.get_json()["error"] == "not-found"
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 404 and page.mimetype == "text/html", path
        assert 'href="/codes"' in page.get_data(as_text=True)


def test_code_page_url() -> None:
    assert code_page_url("33952") == "/codes/33952"
    assert code_page_url("33952", "62") == "/codes/33952:62"
    assert code_page_url("33952", base="https://cds.example.org/") == "https://cds.example.org/codes/33952"


def test_pages_follow_the_content(tmp_path: Path) -> None:
    """Change the CPT fragment's wording: the page says what the content says, nothing kept elsewhere."""
    content = tmp_path / "fhir_bundles"
    shutil.copytree(FHIR_BUNDLES, content)
    fragment = content / "codesystems" / "cpt-ecmo-fragment.json"
    data = json.loads(fragment.read_text(encoding="utf-8"))
    concept = next(c for c in data["concept"] if c["code"] == "33952")
    concept["display"] = "Percutaneous peripheral ECMO cannulation (edited wording)"
    fragment.write_text(json.dumps(data), encoding="utf-8")
    client = create_client(fhir_bundles=str(content), cds_hooks=str(ROOT / "cds_hooks"))
    assert "(edited wording)" in client.get("/codes/33952").get_data(as_text=True)
    assert "(edited wording)" in client.get("/codes", headers={"Accept": "application/json"}).get_data(
        as_text=True
    )


def test_without_the_cds_content_the_fhir_sections_remain(tmp_path: Path) -> None:
    client = create_client(cds_hooks="")
    page = client.get("/codes/33952", headers={"Accept": "application/json"}).get_json()
    assert page["summary"] and page["modifiers"]["rows"] and page["medicare"] is None
    assert "not loaded on this server" in client.get("/codes/33952").get_data(as_text=True)


def test_landing_page(client) -> None:
    html = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    for code in family_codes():
        assert f'<a href="/codes/{code}">{code}</a>' in html
    for href in ("/fhir/metadata", "/cds-services", "/sandbox", "/openapi.json", "/codes"):
        assert f'href="{href}"' in html
    body = client.get("/").get_json()
    assert body["pages"] == {"codes": "/codes"} and "codes" not in body["links"]
