"""Every relative link in README.md, CHANGELOG.md and docs/*.md points at a file of the repository, and every
`#anchor` on a Markdown page names one of its headings (as GitHub renders them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
# Pages other branches write; a link to them is accepted until they arrive.
PENDING: set[Path] = set()

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """The page without fenced code blocks and inline code, where brackets are not links."""
    return _CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's heading anchor: lower case, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8")))}


def _relative_links(page: Path) -> list[str]:
    found = []
    for target in _LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # http:, https:, mailto: ...
        found.append(target)
    return found


def test_docs_pages_exist() -> None:
    assert (ROOT / "README.md").is_file()
    assert len(PAGES) > 3, "docs/*.md is missing"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    problems = []
    for target in _relative_links(page):
        path_part, _, anchor = target.partition("#")
        file = (page.parent / path_part).resolve() if path_part else page
        if not file.exists():
            if file not in PENDING:
                shown = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
                problems.append(f"{target}: {shown} does not exist")
            continue
        if anchor and file.suffix == ".md" and anchor not in _anchors(file):
            problems.append(f"{target}: no heading with the anchor #{anchor} in {file.relative_to(ROOT)}")
    assert not problems, f"{page.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_link_pattern_finds_links() -> None:
    text = "See [a](docs/a.md), ![img](b.png) and [c](https://x.org); not `[d](e.md)`."
    assert _LINK.findall(_prose(text)) == ["docs/a.md", "b.png", "https://x.org"]
    assert _slug("Checking content: `cpt-plugin validate`") == "checking-content-cpt-plugin-validate"
    assert _slug("Content, versions and limits") == "content-versions-and-limits"


# An issue or pull-request number (`#123`, `issue 12`, `PR 7`, `GH-4`): the manual speaks of the product,
# its history is CHANGELOG.md's, in the product's terms. `pkg#1.0.0` (a package version) and `&#123;` are not.
_ISSUE_NUMBER = re.compile(r"(?<![\w&/#.])#\d+\b|\b(?:issue|pull request|PR|GH)[ -]?#?\d+\b", re.I)


@pytest.mark.parametrize(
    "page", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name
)
def test_readme_and_manual__name_no_issue_numbers(page: Path) -> None:
    found = [m.group(0) for m in _ISSUE_NUMBER.finditer(page.read_text(encoding="utf-8"))]
    assert found == [], f"{page.relative_to(ROOT)} names issue numbers: {found}"


def test_readme__is_a_front_door_under_200_lines() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) < 200


def test_issue_number_pattern() -> None:
    assert _ISSUE_NUMBER.findall("fixed in #12, see issue 34 and PR #5") == ["#12", "issue 34", "PR #5"]
    assert _ISSUE_NUMBER.findall("cpt-plugin.ecmo#0.1.0, &#123;, page.md#anchor-2, `[#]`") == []
