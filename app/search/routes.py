"""/search and the similar-proposals lookup of the submit form."""

from datetime import timedelta

from flask import jsonify, render_template, request, url_for

from ..errors import wants_json
from ..models import ProposalState
from ..moderation.queries import thread_contexts
from ..proposals.routes import _proposal_summary
from ..services import proposals as proposal_svc
from ..services import search as svc
from ..services.search_query import clean
from ..web import date_arg, page_arg
from ..web import request_viewer as _viewer
from . import bp


def _args() -> dict:
    """The search's own parameters, as given (for links to other pages and orders)."""
    keys = ("q", "kind", "round", "state", "author", "sort", "from", "until")
    return {k: request.args.get(k, "") for k in keys if request.args.get(k, "")}


def _add_links(hits: list[svc.Hit], viewer) -> None:
    contexts = thread_contexts({h.obj.thread_id for h in hits if h.kind == "comment"}, viewer)
    for hit in hits:
        if hit.kind == "proposal":
            hit.url = url_for("proposals.show", proposal_id=hit.id)
        elif hit.kind == "article":
            hit.url = url_for("articles.show", slug=hit.obj.slug)
        else:
            hit.url = url_for("articles.permalink", comment_id=hit.id)
            context = contexts.get(hit.obj.thread_id)
            if context is not None:
                hit.context_title, hit.context_url = context.title, context.url


def hit_json(hit: svc.Hit) -> dict:
    return {
        "kind": hit.kind,
        "id": hit.id,
        "url": hit.url,
        "title": hit.obj.title if hit.kind != "comment" else hit.context_title,
        "title_html": str(hit.title),
        "snippet_html": str(hit.snippet),
        "author": hit.author,
        "created_at": hit.created_at.isoformat() + "Z",
        "in": {"title": hit.context_title, "url": hit.context_url},
        "marks": hit.marks,
    }


@bp.route("/search")
def search():
    since = date_arg("from")
    until = date_arg("until")
    filters, notes = svc.resolve_filters(
        kind=request.args.get("kind", ""),
        round_slug=request.args.get("round", "")[:200],
        state=request.args.get("state", ""),
        author=request.args.get("author", "")[:200],
        since=since,
        until=until + timedelta(days=1) if until else None,
    )
    page = page_arg()
    if notes:
        text = clean(request.args.get("q", ""))
        result = svc.SearchPage(text=text, sort="relevance", filters=filters)
    else:
        result = svc.search(
            _viewer(),
            request.args.get("q", ""),
            filters,
            sort=request.args.get("sort", "relevance"),
            page=page,
        )
    result.notes[:0] = notes
    _add_links(result.hits, _viewer())
    args = _args()
    next_url = url_for("search.search", **{**args, "page": page + 1}) if result.has_more else None
    prev_url = url_for("search.search", **{**args, "page": page - 1}) if page > 1 else None
    if wants_json():
        return jsonify(
            query=result.text,
            sort=result.sort,
            page=result.page,
            per_page=result.per_page,
            filters={
                "kind": filters.kind,
                "round": filters.round.slug if filters.round else None,
                "state": filters.state.value if filters.state else None,
                "author": filters.author.username if filters.author else None,
                "from": args.get("from"),
                "until": args.get("until"),
            },
            results=[hit_json(h) for h in result.hits],
            notes=result.notes,
            next=next_url,
            previous=prev_url,
        )
    return render_template(
        "search/results.html",
        result=result,
        args=args,
        kinds=svc.KINDS,
        sorts=svc.SORTS,
        states=list(ProposalState),
        next_url=next_url,
        prev_url=prev_url,
    )


@bp.route("/rounds/<slug>/similar")
def similar(slug):
    """Open proposals of the round whose words are like `title` (JSON, for the submit form)."""
    round_ = proposal_svc.get_round(slug)
    found = svc.similar_proposals(round_, request.args.get("title", ""), _viewer())
    # The proposals' one JSON shape, as on the round and proposal pages.
    return jsonify(proposals=[_proposal_summary(p, _viewer()) for p in found])
