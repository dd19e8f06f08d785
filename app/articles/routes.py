"""Articles and the comment routes shared by every thread (article or proposal)."""

import dataclasses
import functools
import math

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.orm.attributes import set_committed_value

from ..errors import PermissionDenied, wants_json
from ..extensions import db, limiter
from ..forms import ConfirmForm, attempt
from ..models.thread import ARTICLE_ORDER, Article, Comment, CommentStatus, Thread
from ..pagecache import visitor_page
from ..security import action_limit, rate
from ..serializers import ArticleSchema
from ..services import comments as comment_service
from ..services.threads import (
    Entry,
    locate_comment,
    replies_view,
    thread_owner,
    thread_view,
)
from ..web import DB_INT_MAX, int_arg, page_arg
from ..web import request_viewer as _viewer
from . import bp
from .forms import CommentForm, EditCommentForm, GuestCommentForm

ARTICLES_PER_PAGE = 30
# Ids are 32-bit integers on PostgreSQL: a bigger one is unknown, not an error.
# How many of a visitor's own pending comments the session remembers.
PENDING_REMEMBERED = 20


def own_pending_ids() -> frozenset:
    """The pending comments this browser posted (a visitor sees them, marked)."""
    ids = session.get("pending_comments") or []
    return frozenset(i for i in ids if isinstance(i, int))


def _remember_pending(comment_id: int) -> None:
    ids = [i for i in (session.get("pending_comments") or []) if isinstance(i, int)]
    session["pending_comments"] = [*ids, comment_id][-PENDING_REMEMBERED:]


def current_thread_view(thread: Thread, guest_article: Article | None = None):
    """The thread's page for this request (?page=, the viewer, their pending comments).

    Owner pages (an article, a proposal) call this and include
    templates/articles/_thread.html with the result as `view`.
    """
    view = thread_view(thread, _viewer(), page_arg(), own_pending_ids())
    view.guest_article = guest_article
    return view


def _visible_thread_or_404(thread: Thread) -> Thread:
    if not thread.is_visible_to(current_user):
        abort(404)
    return thread


def _get(model, ident: int | None, options=()):
    if ident is None or not 0 < ident <= DB_INT_MAX:
        return None
    return db.session.get(model, ident, options=options)


# A thread comes with its owner, the article or proposal (one statement, not
# three): its visibility, its links and its notifications all ask for it.
_WITH_OWNER = (so.joinedload(Thread.owner_article), so.joinedload(Thread.owner_proposal))


def _thread_or_404(thread_id: int) -> Thread:
    thread = _get(Thread, thread_id, _WITH_OWNER)
    if thread is None:
        abort(404)
    return _visible_thread_or_404(thread)


def _comment_or_404(comment_id: int) -> Comment:
    comment = _get(Comment, comment_id, (so.joinedload(Comment.thread).options(*_WITH_OWNER),))
    if comment is None or not comment.thread.is_visible_to(current_user):
        abort(404)
    if not comment.is_visible_to(current_user, own_pending_ids()):
        abort(404)
    return comment


def comment_url(comment: Comment, owner=None, pending_ids: frozenset | None = None) -> str:
    """Where a comment shows for the current viewer: its page and anchor."""
    if pending_ids is None:
        pending_ids = own_pending_ids()
    location = locate_comment(comment, _viewer(), pending_ids)
    anchor = f"comment-{comment.id}"
    if location.replies_start is not None:
        return url_for(
            "articles.replies",
            comment_id=location.root_id,
            start=location.replies_start,
            _anchor=anchor,
        )
    owner = owner or thread_owner(comment.thread)
    return owner.url(comment.thread, location.page, anchor)


def _article_json(article: Article) -> dict:
    return ArticleSchema().dump(article)


def _permalink(comment: Comment) -> str:
    return url_for("articles.permalink", comment_id=comment.id)


@bp.route("/articles")
def index():
    page = page_arg()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Article)) or 0
    pages = max(1, math.ceil(total / ARTICLES_PER_PAGE))
    page = min(page, pages)
    articles = db.session.scalars(
        sa.select(Article)
        .options(so.joinedload(Article.thread))
        .order_by(*ARTICLE_ORDER)
        .offset((page - 1) * ARTICLES_PER_PAGE)
        .limit(ARTICLES_PER_PAGE)
    ).all()
    if wants_json():
        return jsonify(
            articles=ArticleSchema(many=True, brief=True).dump(articles),
            page=page,
            pages=pages,
            total=total,
        )
    return render_template("articles/index.html", articles=articles, page=page, pages=pages)


# The statements of the article page, built once (building costs more than running).
@functools.cache
def _versions_select() -> sa.Select:
    return (
        sa.select(Article.row_version, Thread.row_version)
        .join(Thread, Thread.id == Article.thread_id)
        .where(Article.slug == sa.bindparam("slug"))
    )


@functools.cache
def _article_select() -> sa.Select:
    return (
        sa.select(Article)
        .where(Article.slug == sa.bindparam("slug"))
        .options(so.joinedload(Article.thread))
    )


def _article_versions(slug: str) -> tuple | None:
    row = db.session.execute(_versions_select(), {"slug": slug}).first()
    return None if row is None else tuple(row)


@bp.route("/articles/<slug>")
@visitor_page(_article_versions)
def show(slug):
    article = db.session.execute(_article_select(), {"slug": slug}).scalar_one_or_none()
    if article is None:
        abort(404)
    # Its thread's owner is known: the article (a thread has one owner), not a
    # proposal, which the visibility rule would otherwise ask the database for.
    set_committed_value(article.thread, "owner_article", article)
    set_committed_value(article.thread, "owner_proposal", None)
    view = current_thread_view(_visible_thread_or_404(article.thread), article)
    if wants_json():
        return jsonify(article=_article_json(article), thread=view.as_json(_permalink))
    return render_template("articles/show.html", article=article, view=view)


@bp.route("/threads/<int:thread_id>")
def thread(thread_id):
    """A thread's own page: its owner's page, or the thread alone (a moved sub-thread)."""
    thread = _thread_or_404(thread_id)
    owner = thread_owner(thread)
    if owner.kind != "thread":
        return redirect(owner.url(thread, page_arg()))
    view = thread_view(thread, _viewer(), page_arg(), own_pending_ids())
    if wants_json():
        return jsonify(thread=view.as_json(_permalink))
    return render_template("articles/thread.html", thread=thread, view=view)


@bp.route("/comments/<int:comment_id>")
def permalink(comment_id):
    """Redirect to the page of the thread that shows the comment, at the comment."""
    comment = _comment_or_404(comment_id)
    return redirect(comment_url(comment))


@bp.route("/comments/<int:comment_id>/replies")
def replies(comment_id):
    """The folded replies of a sub-thread, a batch at a time (a fragment for JS)."""
    comment = _comment_or_404(comment_id)
    root = comment if comment.depth == 0 else _comment_or_404(comment.root_id)
    start = int_arg("start", 0)
    view = replies_view(root, _viewer(), start, own_pending_ids())
    if wants_json():
        return jsonify(replies=view.as_json(_permalink))
    if request.args.get("partial"):
        return render_template("articles/_entries.html", view=view)
    owner = thread_owner(root.thread)
    back = comment_url(root, owner)
    root_view = dataclasses.replace(view, loaded=[Entry(comment=root)])
    return render_template(
        "articles/replies.html",
        view=view,
        root_view=root_view,
        root=root,
        owner=owner,
        back_url=back,
        start=start,
    )


def _form_page(form, thread, owner, *, parent=None, guest=False, status=200, action=None):
    return (
        render_template(
            "articles/comment_form.html",
            form=form,
            thread=thread,
            owner=owner,
            parent=parent,
            guest=guest,
            action=action
            or (
                url_for("articles.reply", comment_id=parent.id)
                if parent is not None
                else url_for("articles.post_comment", thread_id=thread.id)
            ),
            back_url=owner.url(thread),
        ),
        status,
    )


def _answer_post(comment: Comment):
    """The answer to a posted comment, made before the commit: call it after.

    The comment's page is found while the comment, its thread and the
    thread's owner are loaded; after the commit, which expires them, finding
    it would read them all again. The flash and the session's note of a
    pending comment wait for the call, so a failed commit leaves neither.
    """
    pending = comment.status == CommentStatus.pending
    if pending:
        message, category = (
            "Thank you. Your comment awaits approval by a moderator; "
            "it will show to everyone once approved.",
            "info",
        )
    elif comment.needs_review:
        message, category = (
            "Your comment is posted. As it is your first, a moderator will look at it.",
            "success",
        )
    else:
        message, category = "Your comment is posted.", "success"
    pending_ids = own_pending_ids() | {comment.id} if pending else own_pending_ids()
    url, comment_id = comment_url(comment, pending_ids=pending_ids), comment.id

    def answer():
        if pending:
            _remember_pending(comment_id)
        flash(message, category)
        return redirect(url)

    return answer


def _post_guest(thread: Thread, article: Article):
    form = GuestCommentForm()
    status = 400
    if form.validate_on_submit():
        answer, refused = attempt(
            form,
            lambda: _answer_post(
                comment_service.post_guest_comment(article, form.name.data, form.body.data)
            ),
        )
        if not refused:
            return answer()
        status = refused
    return _form_page(form, thread, thread_owner(thread), guest=True, status=status)


@bp.route("/threads/<int:thread_id>/comments", methods=["POST"])
@action_limit("post", "comment")
def post_comment(thread_id):
    """Post a comment (or, with parent_id, a reply) to any thread."""
    thread = _thread_or_404(thread_id)
    owner = thread_owner(thread)
    if not current_user.is_authenticated:
        if owner.article is not None and owner.article.can_guest_comment(None):
            return _post_guest(thread, owner.article)
        if owner.article is not None and owner.article.allow_guest_comments:
            # Guests welcome, but the thread is locked: say so on the form.
            form = GuestCommentForm()
            form.form_errors.append(comment_service.LOCKED_MESSAGE)
            return _form_page(form, thread, owner, guest=True, status=409)
        return current_app.login_manager.unauthorized()
    form = CommentForm()
    parent = None
    status = 400
    if form.validate_on_submit():
        if form.parent_id.data is not None:
            parent = _get(Comment, form.parent_id.data)
        if form.parent_id.data is not None and parent is None:
            form.form_errors.append(
                "The comment you are replying to does not exist (it may have been removed)."
            )
        else:
            answer, refused = attempt(
                form,
                lambda: _answer_post(
                    comment_service.add_comment(thread, _viewer(), form.body.data, parent)
                ),
            )
            if not refused:
                return answer()
            status = refused
    if parent is not None and parent.thread_id != thread.id:
        parent = None
    return _form_page(form, thread, owner, parent=parent, status=status)


@bp.route("/comments/<int:comment_id>/reply", methods=["GET", "POST"])
@action_limit("post", "reply")
@login_required
def reply(comment_id):
    """Reply to a comment: the form page without JavaScript, and its POST."""
    parent = _comment_or_404(comment_id)
    thread = parent.thread
    owner = thread_owner(thread)
    form = CommentForm()
    action = url_for("articles.reply", comment_id=parent.id)
    if request.method == "GET":
        if not parent.can_reply(current_user):
            if current_user.is_suspended():
                from ..permissions import suspension_message

                raise PermissionDenied(suspension_message(current_user))
            form.form_errors.append(
                comment_service.LOCKED_MESSAGE
                if not thread.is_open
                else "This comment cannot take replies."
            )
            return _form_page(form, thread, owner, parent=parent, status=409, action=action)
        return _form_page(form, thread, owner, parent=parent, action=action)
    status = 400
    if form.validate_on_submit():
        answer, refused = attempt(
            form,
            lambda: _answer_post(
                comment_service.add_comment(thread, _viewer(), form.body.data, parent)
            ),
        )
        if not refused:
            return answer()
        status = refused
    return _form_page(form, thread, owner, parent=parent, status=status, action=action)


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@limiter.limit(rate("post"), methods=["POST"])
@login_required
def edit(comment_id):
    comment = _comment_or_404(comment_id)
    if not comment.is_author(current_user):
        raise PermissionDenied("You can only edit your own comments.")
    window = comment_service.edit_window()
    form = EditCommentForm(obj=comment if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            _, refused = attempt(
                form, lambda: comment_service.edit_comment(comment, _viewer(), form.body.data)
            )
            if not refused:
                flash("Your comment is updated.", "success")
                return redirect(comment_url(comment))
            status = refused
    elif not comment.can_edit(current_user, window=window):
        form.form_errors.append(
            f"Comments can be edited for {int(window.total_seconds() // 60)} minutes after "
            "posting, while the comment is published and the thread open; this one can no "
            "longer be changed."
        )
        status = 409
    return (
        render_template(
            "articles/edit.html",
            form=form,
            comment=comment,
            back_url=url_for("articles.permalink", comment_id=comment.id),
            deadline=comment.edit_deadline(window),
        ),
        status,
    )


@bp.route("/comments/<int:comment_id>/delete", methods=["GET", "POST"])
@login_required
def delete(comment_id):
    comment = _comment_or_404(comment_id)
    if not comment.is_author(current_user):
        raise PermissionDenied("You can only delete your own comments.")
    form = ConfirmForm()
    if form.validate_on_submit():
        comment_service.delete_own_comment(comment, _viewer())
        db.session.commit()
        flash("Your comment is deleted; replies to it stay in place.", "success")
        return redirect(comment_url(comment))
    status = 400 if form.is_submitted() else 200
    return (
        render_template(
            "articles/delete.html",
            form=form,
            comment=comment,
            back_url=url_for("articles.permalink", comment_id=comment.id),
        ),
        status,
    )
