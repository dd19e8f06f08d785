"""Following, mail preferences, one-click unsubscribe, and the page behind a mail's offer."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import csrf, db
from ..forms import ConfirmForm
from ..mail import ALL_TOPICS, read_unsubscribe_token
from ..models import FollowTarget, Topic
from ..models.mail import TOPIC_LABELS
from ..security import safe_next_url
from ..services import notifications as notes
from ..urls import path_for
from . import bp
from .forms import PreferencesForm

TARGET_PAGES = {
    FollowTarget.proposal: lambda obj: url_for("proposals.show", proposal_id=obj.id),
    FollowTarget.round: lambda obj: url_for("proposals.round", slug=obj.slug),
    FollowTarget.thread: lambda obj: url_for("articles.thread", thread_id=obj.id),
}


def _set_following(target: str, target_id: int, following: bool):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    kind, obj = notes.follow_target(target, target_id)
    notes.set_following(current_user._get_current_object(), kind, target_id, following)
    db.session.commit()
    flash("You follow it now." if following else "You no longer follow it.", "success")
    return redirect(safe_next_url(request.form.get("next"), TARGET_PAGES[kind](obj)))


@bp.route("/follow/<target>/<int:target_id>", methods=["POST"])
@login_required
def follow(target: str, target_id: int):
    return _set_following(target, target_id, True)


@bp.route("/unfollow/<target>/<int:target_id>", methods=["POST"])
@login_required
def unfollow(target: str, target_id: int):
    return _set_following(target, target_id, False)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    user = current_user._get_current_object()
    form = PreferencesForm()
    if request.method == "GET":
        for topic, delivery in notes.preferences(user).items():
            getattr(form, f"topic_{topic.value}").data = delivery.value
    status = 200
    if form.validate_on_submit():
        notes.set_preferences(
            user, {topic: getattr(form, f"topic_{topic.value}").data for topic in Topic}
        )
        db.session.commit()
        flash("Your mail choices are saved.", "success")
        return redirect(url_for("notifications.preferences"))
    if form.is_submitted():
        status = 400
    return render_template("notifications/preferences.html", form=form), status


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client POSTs without a session; the signed token is the proof
def unsubscribe(token: str):
    found = read_unsubscribe_token(token)
    if found is None:
        abort(404)
    user_id, topic = found
    label = "all mail from Plenary" if topic == ALL_TOPICS else TOPIC_LABELS[Topic(topic)]
    if request.method == "POST":
        user = notes.unsubscribe(user_id, topic)
        if user is None:
            abort(404)
        db.session.commit()
        return render_template("notifications/unsubscribed.html", label=label)
    return render_template("notifications/unsubscribe.html", label=label, token=token)


@bp.route("/notifications/<int:notification_id>/act")
@login_required
def act(notification_id: int):
    """The page a mail's offer opens: the offer and its button (the GET changes nothing)."""
    note = notes.get_own_notification(current_user._get_current_object(), notification_id)
    action = safe_next_url(note.action_url, "") if note.action_url else ""
    return render_template(
        "notifications/act.html",
        note=note,
        action=action,
        link=safe_next_url(note.link, "") if note.link else "",
        notifications_url=path_for("proposals.notifications"),
    )


def prefetch_following(*targets: tuple[str, int]) -> None:
    """Read the states of a page's follow buttons in one statement, before it renders."""
    g.following = notes.following_states(current_user, targets)


@bp.app_template_global()
def is_following(target: str, target_id: int) -> bool:
    """A follow button's state: read with the page's others where the view
    prefetched them (`prefetch_following`), else asked now. A global, so the
    follow macro needs no context."""
    key = (FollowTarget(target), target_id)
    known = g.get("following", {})
    if key in known:
        return known[key]
    return notes.is_following(current_user, *key)
