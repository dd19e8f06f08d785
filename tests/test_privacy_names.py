"""Issue #17 class 8: no impersonation by display name.

Display names are compared by Unicode TR39 skeleton (ICU) with other
members' names and with reserved words, and every display name is shown with
its @username beside it.
"""

import html

import pytest

from app.errors import ValidationError
from app.names import skeleton
from app.services import accounts

LOOK_ALIKES = [
    "Moe Derator",  # the same
    "moe derator",  # another case
    "Mое Dеrаtоr",  # Cyrillic о, е, а
    "Moe  Derator",  # spacing
    "Moe-Derator",  # punctuation
    "rnoe Derator",  # rn for m
    "MOE DERAT0R",  # zero for O
    "Ｍｏｅ Ｄｅｒａｔｏｒ",  # full-width
]
RESERVED = ["Moderators", "MODERAT0RS", "Mоderаtоrs", "The Moderators", "Admin", "a former member",
            "Plenary", "Аdmin"]  # fmt: skip


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_a_look_alike_of_another_members_name_is_refused(db, make_user, name):
    make_user("moe", display_name="Moe Derator")
    mia = make_user("mia", display_name="Mia")
    with pytest.raises(ValidationError, match="looks like another member's"):
        accounts.update_profile(mia, name)
    with pytest.raises(ValidationError, match="looks like another member's"):
        accounts.sign_up("newbie", "newbie@example.org", "a long password", name)


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_words_and_their_look_alikes_are_refused(db, make_user, name):
    mia = make_user("mia", display_name="Mia")
    with pytest.raises(ValidationError, match="reserved"):
        accounts.update_profile(mia, name)


@pytest.mark.parametrize("name", ["Moe Dorator", "Zoë", "Anna", "Mia", "Μαρία", "李小龙"])
def test_distinct_names_and_ones_own_name_are_fine(db, make_user, name):
    make_user("moe", display_name="Moe Derator")
    make_user("zoe", display_name="Zoe")
    mia = make_user("mia", display_name="Mia")
    accounts.update_profile(mia, name)
    assert mia.display_name == name and mia.name_skeleton == skeleton(name)


def test_the_account_page_keeps_the_typed_name_with_the_message(client, auth, make_user):
    make_user("moe", display_name="Moe Derator")
    auth.login(make_user("mia", display_name="Mia"))
    response = client.post(
        "/account", data={"profile-display_name": "Mое Dеrаtоr", "profile-submit": "Save"}
    )
    assert response.status_code == 400
    body = html.unescape(response.get_data(as_text=True))
    assert "looks like another member's" in body and 'value="Mое Dеrаtоr"' in body


def test_the_username_is_shown_beside_every_display_name(
    client, auth, db, make_user, make_proposal, make_comment, cosign_as
):
    author = make_user("arthur", display_name="Arthur")
    signer = make_user("sigrid", display_name="Sigrid")
    proposal = make_proposal(author=author)
    cosign_as(proposal, signer)
    make_comment(thread=proposal.thread, author=signer, body="Hello")
    auth.login(make_user("mia", display_name="Mia"))
    for url in (
        f"/proposals/{proposal.id}",
        f"/rounds/{proposal.round.slug}",
        f"/proposals/{proposal.id}/supporters",
        "/users/arthur",
    ):
        body = client.get(url).get_data(as_text=True)
        assert 'Arthur <span class="username">@arthur</span>' in body, url
    body = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert 'Sigrid <span class="username">@sigrid</span>' in body
    data = client.get(f"/proposals/{proposal.id}", headers={"Accept": "application/json"})
    assert data.get_json()["thread"]["comments"][0]["username"] == "sigrid"
