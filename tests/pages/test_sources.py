"""How a page reads the citations of the FHIR content: split, dated and numbered once each."""

from __future__ import annotations

from plugin.pages.sources import Source, SourceBook, date_in, split_citations, split_comment


def test_split_citations__semicolons_inside_parentheses_or_quotes_do_not_split() -> None:
    text = (
        "AAPC Cardiology Coding Alert, 'Mythbuster: Bust 5 Myths; part 2 ...' (169252); "
        "dictationroom.com/ecmo (one clinician's note template; low confidence); "
        "CMS NCCI PTP edits, 2024-07-01"
    )
    assert split_citations(text) == [
        "AAPC Cardiology Coding Alert, 'Mythbuster: Bust 5 Myths; part 2 ...' (169252)",
        "dictationroom.com/ecmo (one clinician's note template; low confidence)",
        "CMS NCCI PTP edits, 2024-07-01",
    ]
    assert split_citations("") == []


def test_date_in__the_date_a_citation_gives_itself() -> None:
    assert date_in("CMS NCCI PTP edits, practitioner, 2024-07-01 (pin ncci_ptp_prac)") == "2024-07-01"
    assert date_in("CMS NCCI PTP practitioner file 07-01-2024") == "2024-07-01"
    assert date_in("ATS coding newsletter, February 2015 (thoracic.org/2015/february)") == "2015-02"
    assert date_in("CMS PFS Relative Value File, CY2023 January release") == "2023"
    assert date_in("guidance (433 modifiers, 2024-06)") == "2024-06"
    assert date_in("codingahead CPT 33952 descriptor page (webhooks.codingahead.com/cpt/codes/33952)") is None


def test_split_comment__reason_sources_and_as_of() -> None:
    comment = (
        "Medicare will not pay: co-surgeon indicator 0. Source: CMS PFS CY2023; karenzupko.com table. "
        "As of 2024-07-01."
    )
    assert split_comment(comment) == (
        "Medicare will not pay: co-surgeon indicator 0.",
        "CMS PFS CY2023; karenzupko.com table",
        "2024-07-01",
    )
    assert split_comment("Just a reason.") == ("Just a reason.", "", None)
    assert split_comment(None) == ("", "", None)


def test_source_book__one_number_per_source_and_cited_dates() -> None:
    book = SourceBook()
    first = book.cite_text("karenzupko.com table; CMS PFS CY2023", "2024-07-01")
    again = book.cite_text("karenzupko.com table", "2023-01-30")
    assert first == [1, 2] and again == [1]
    assert book.cite(Source("CMS PFS CY2023", as_of="2023")) == 2
    listed = book.as_json()
    assert listed[0] == {"n": 1, "label": "karenzupko.com table", "citedAsOf": "2024-07-01"}
    assert listed[1] == {"n": 2, "label": "CMS PFS CY2023", "asOf": "2023"}
    number = book.cite_fact_source({"label": "NCCI", "url": "https://example.org", "asOf": "undated"}, "2024")
    assert book.as_json()[number - 1] == {"n": 3, "label": "NCCI", "url": "https://example.org"}
