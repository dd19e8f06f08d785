"""A suspension ends the member's sessions: a saved cookie replayed after it is refused."""

from app.models import Role


def _signed_in(app, user):
    device = app.test_client()
    response = device.post(
        "/login", data={"login": user.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert device.get("/account").status_code == 200
    return device


def test_a_suspension_ends_the_members_sessions_and_a_replayed_cookie_is_refused(
    app, db, make_user
):
    member = make_user("troublemaker")
    moderator = make_user("warden", role=Role.moderator)
    phone = _signed_in(app, member)
    saved_cookie = phone.get_cookie("session").value
    moderator_client = _signed_in(app, moderator)

    response = moderator_client.post(
        f"/moderation/users/{member.id}/suspend",
        data={"duration": "3", "reason": "Repeated abuse"},
    )
    assert response.status_code == 302

    assert phone.get("/account").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", saved_cookie)
    assert replay.get("/account").status_code == 302
    # The member may sign in again and read, and is told why they cannot write.
    again = _signed_in(app, member)
    page = again.get("/").get_data(as_text=True)
    assert "Your account is suspended until" in page and "Repeated abuse" in page
