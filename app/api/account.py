"""Personal access tokens on /account: create (the secret shown once), list, revoke;
and `flask tokens create USERNAME [--scope read|write]`."""

import click
from flask import Blueprint, flash, redirect, render_template, url_for
from flask.cli import AppGroup
from flask_login import current_user, login_required
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..database import write_transactions
from ..errors import DomainError
from ..extensions import db, limiter
from ..forms import ConfirmForm, PlenaryForm, attempt, no_control_chars
from ..models.token import TOKEN_NAME_MAX, TokenScope
from ..permissions import active_member_required
from ..security import rate
from ..services import accounts
from ..services import tokens as token_svc

bp = Blueprint("tokens", __name__)

SCOPE_CHOICES = [
    SelectChoice(TokenScope.read.value, "Read: list and read what you can see"),
    SelectChoice(
        TokenScope.write.value, "Write: also act for you (submit, co-sign, comment, report)"
    ),
]


class TokenForm(PlenaryForm):
    name = StringField(
        "Name (what will use it)",
        validators=[DataRequired(), Length(max=TOKEN_NAME_MAX), no_control_chars],
    )
    scope = SelectField("Scope", choices=SCOPE_CHOICES, default=TokenScope.read.value)
    submit = SubmitField("Create token")


@bp.app_context_processor
def token_section():
    """What the tokens part of /account shows (computed only when the page asks)."""

    def account_tokens():
        if not current_user.is_authenticated:
            return []
        return token_svc.tokens_of(current_user)

    return {
        "account_tokens": account_tokens,
        "token_form": lambda: TokenForm(prefix="token", formdata=None),
        "revoke_form": lambda: ConfirmForm(formdata=None),
    }


@bp.route("/account/tokens", methods=["POST"])
@limiter.limit(rate("post"), methods=["POST"])
@active_member_required
def create():
    form = TokenForm(prefix="token")
    if form.validate_on_submit():
        created, refused = attempt(
            form,
            lambda: token_svc.create_token(
                current_user._get_current_object(), form.name.data, form.scope.data
            ),
        )
        if not refused:
            token, secret = created
            # Shown on this answer only: never in a redirect, a flash or the session.
            response = render_template("api/token_created.html", token=token, secret=secret)
            return response, 201, {"Cache-Control": "no-store"}
    return render_template("api/token_form.html", form=form), 400


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id):
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("auth.account", _anchor="tokens"))
    token = token_svc.revoke_token(current_user._get_current_object(), token_id)
    db.session.commit()
    flash(f"The token “{token.name}” is revoked: it no longer works.", "success")
    return redirect(url_for("auth.account", _anchor="tokens"))


tokens_cli = AppGroup("tokens", help="Personal access tokens for the API.")


@tokens_cli.command("create")
@click.argument("username")
@click.option(
    "--scope", type=click.Choice([s.value for s in TokenScope]), default="read", show_default=True
)
@click.option("--name", default="command line", show_default=True, help="What will use it.")
def create_command(username, scope, name):
    """Create a token for USERNAME and print its secret (shown this once)."""
    with write_transactions():
        user = accounts.find_by_username(username)
        if user is None:
            raise click.ClickException(f"No member is called {username!r}.")
        try:
            token, secret = token_svc.create_token(user, name, scope)
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from exc
        db.session.commit()
    click.echo(f"Token {token.id} ({token.scope.value}) for {user.username}; it is shown once:")
    click.echo(secret)
