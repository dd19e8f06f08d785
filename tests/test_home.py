"""The home page: open rounds, recent articles, recent activity, at a fixed query cost."""

import html
import re


def text_of(response) -> str:
    """The page's text as a reader sees it: tags dropped, white space folded."""
    markup = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(markup).split())


def test_home_lists_open_rounds_articles_and_activity(
    client, make_round, make_proposal, make_article, make_comment, make_user
):
    round_ = make_round(title="The way forward")
    proposal = make_proposal(round=round_, title="Dissolve with care")
    article = make_article(title="A source worth reading")
    make_comment(thread=article.thread, body="A first remark", author=make_user("remarker"))
    text = text_of(client.get("/"))
    assert "The way forward" in text
    assert "A source worth reading" in text
    assert f"submitted {proposal.label}: Dissolve with care" in text
    assert "commented on A source worth reading" in text


def test_home_query_count_does_not_grow_with_rows(
    client, query_counter, make_round, make_proposal, make_article, make_comment
):
    round_ = make_round()
    make_proposal(round=round_)
    make_article()
    with query_counter() as small:
        assert client.get("/").status_code == 200
    for _ in range(6):
        r = make_round()
        for _ in range(3):
            make_proposal(round=r)
        a = make_article()
        for _ in range(3):
            make_comment(thread=a.thread)
    with query_counter() as large:
        assert client.get("/").status_code == 200
    assert large.count == small.count
