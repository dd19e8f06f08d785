"""Issue #17 class 9: the importer finds the related-links block by its shape.

A link's title may end in a bracket, a quote or an asterisk ("Annual report
(pdf)"); the whole block still goes, whatever its lines end with, while a
body whose last sentence ends inside a quote or a bracket keeps it.
"""

import pytest

from app.seeding.parser import parse_document
from tests.test_seeding_documents import THREADED

LINKS = "A related link\n\nAnother related link\n\n"


def with_links(*links: str, last_paragraph: str | None = None) -> str:
    text = THREADED.replace(LINKS, "".join(f"{link}\n\n" for link in links))
    if last_paragraph is not None:
        text = text.replace("Second paragraph, ending with a quote: “like this.”", last_paragraph)
    return text


@pytest.mark.parametrize(
    "links",
    [
        ["Annual report (pdf)"],
        ["Annual report (pdf)", "Minutes of the meeting"],
        ["Minutes of the meeting", "Annual report (pdf)"],
        ["“Why we left”", "Statement [PDF]", "Reply by the committee*"],
        ["Letter to the members (2019)", "Numerous other pieces", "‘Open letter’"],
        ["Another view (in French) »"],
    ],
)
def test_the_links_block_goes_whatever_its_lines_end_with(links):
    doc = parse_document(with_links(*links))
    for link in links:
        assert link not in doc.body
    assert doc.body.endswith("“like this.”")
    assert doc.body.startswith("First paragraph of the body.")


@pytest.mark.parametrize(
    "last",
    [
        "He said: “we are done.”",
        "(This is the end of the report.)",
        "The last sentence ends here!",
        "What comes next?",
        "A list follows:",
    ],
)
def test_a_last_sentence_ending_in_a_quote_or_bracket_stays(last):
    doc = parse_document(with_links("Annual report (pdf)", last_paragraph=last))
    assert doc.body.endswith(last)
    assert "Annual report (pdf)" not in doc.body


def test_a_one_paragraph_body_is_never_taken_for_links():
    text = THREADED.replace(
        "First paragraph of the body.\nIt has a second line.\n\n"
        "Second paragraph, ending with a quote: “like this.”\n\n",
        "",
    ).replace(LINKS, "Short body line\n\nAnnual report (pdf)\n\n")
    doc = parse_document(text)
    assert doc.body == "Short body line"
