"""Admins' article pages: write, edit, and import a document in the seed format.

Each form keeps what was typed when it fails, and "Preview" shows the result
(the rendered Markdown, or what an import would create and each problem by
line) without writing anything.
"""

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..errors import ValidationError
from ..extensions import db
from ..forms import apply_domain_error, attempt
from ..markdown import render_markdown
from ..models.thread import Article
from ..permissions import admin_required
from ..services import articles as svc
from . import bp
from .forms import ArticleForm, ImportForm


def _fields(form: ArticleForm) -> svc.ArticleFields:
    return svc.ArticleFields(
        title=form.title.data,
        body=form.body.data,
        source=form.source.data,
        author_name=form.author_name.data,
        published_at=form.published_at.data,
        original_url=form.original_url.data,
        allow_guest_comments=form.allow_guest_comments.data,
    )


def _article_page(form, article=None, status=200):
    preview = None
    if form.preview.data and form.body.data and not form.body.errors:
        preview = render_markdown(form.body.data)
    action = (
        url_for("articles.edit_article", slug=article.slug)
        if article is not None
        else url_for("articles.new_article")
    )
    return render_template(
        "articles/article_form.html", form=form, article=article, preview=preview, action=action
    ), status


def _save(form: ArticleForm, article=None):
    """Preview, or save through the service; the form page again on any refusal."""
    if not form.is_submitted():
        return _article_page(form, article)
    if not form.validate():
        return _article_page(form, article, 400)
    if form.preview.data:
        return _article_page(form, article)
    actor = current_user._get_current_object()
    if article is None:
        saved, refused = attempt(form, lambda: svc.write_article(actor, _fields(form)))
    else:
        saved, refused = attempt(form, lambda: svc.edit_article(article, actor, _fields(form)))
    if refused:
        return _article_page(form, article, refused)
    flash(f"The article “{saved.title}” is saved.", "success")
    return redirect(url_for("articles.show", slug=saved.slug))


@bp.route("/articles/new", methods=["GET", "POST"])
@admin_required
def new_article():
    form = ArticleForm()
    if not form.is_submitted():
        form.allow_guest_comments.data = True
    return _save(form)


@bp.route("/articles/<slug>/edit", methods=["GET", "POST"])
@admin_required
def edit_article(slug):
    article = db.first_or_404(sa.select(Article).where(Article.slug == slug))
    form = ArticleForm(obj=None if request.method == "POST" else article)
    if request.method == "GET":
        form.source.data = article.source or article.submitted_by
    return _save(form, article)


def _document_text(form: ImportForm) -> str | None:
    """The uploaded file's text (put in the paste box, so "Import" sends it again) or the paste."""
    upload = request.files.get(form.document.name)
    if upload is not None and upload.filename:
        text = svc.decode_document(upload.read(svc.DOCUMENT_MAX + 1))
        form.text.data = text
        form.name.data = form.name.data or upload.filename
        return text
    return form.text.data or None


@bp.route("/articles/import", methods=["GET", "POST"])
@admin_required
def import_document():
    form = ImportForm()
    plan, status = None, 200
    if form.is_submitted():
        status = 400
        if form.validate():
            try:
                text = _document_text(form)
                if text is None:
                    raise ValidationError("Upload a document or paste one.", field="text")
                origin = svc.clean_origin(form.name.data or svc.default_origin(text))
                form.name.data = origin
            except ValidationError as exc:
                apply_domain_error(form, exc)
            else:
                plan = svc.plan_import(origin, text)
                if plan.ok and form.preview.data:
                    status = 200
                elif plan.ok:
                    actor = current_user._get_current_object()
                    done, refused = attempt(form, lambda: svc.import_document(actor, origin, text))
                    if not refused:
                        report, article = done
                        flash(_summary(report), "success")
                        return redirect(url_for("articles.show", slug=article.slug))
                    status = refused
    return render_template("articles/import.html", form=form, plan=plan), status


def _summary(report) -> str:
    if report.articles_created:
        return (
            f"Imported: 1 article with {report.comments_created} comment"
            f"{'s' if report.comments_created != 1 else ''}."
        )
    if report.comments_created:
        return f"Imported {report.comments_created} new comments on the existing article."
    return "This document was imported before: nothing changed."
