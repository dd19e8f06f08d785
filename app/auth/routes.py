"""Sign-up, sign-in, sign-out, account settings and password reset."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, limiter
from ..forms import ConfirmForm, attempt
from ..mail import send_mail
from ..security import rate, safe_next_url
from ..services import accounts
from . import bp
from .forms import AccountForm, LoginForm, PasswordForm, ResetForm, ResetRequestForm, SignupForm


def _start_session(user) -> None:
    # A fresh session on every sign-in: nothing from before survives
    # (no session fixation), then Flask-Login stores id and session version.
    session.clear()
    session.permanent = True
    login_user(user)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(rate("signup"), methods=["POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = SignupForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        user, refused = attempt(
            form,
            lambda: accounts.register_user(
                form.username.data, form.email.data, form.password.data, form.display_name.data
            ),
        )
        if not refused:
            _start_session(user)
            flash(f"Welcome to Plenary, {user.display_name}.", "success")
            return redirect(url_for("main.index"))
    return render_template("auth/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(rate("login"), methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    target = safe_next_url(form.next.data or request.args.get("next"), url_for("main.index"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(target)
    if form.validate_on_submit():
        user = accounts.authenticate(form.login.data, form.password.data)
        if user is None:
            form.form_errors.append("That username or email and password do not match.")
        else:
            _start_session(user)
            flash(f"Signed in as {user.display_name}.", "success")
            return redirect(target)
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        if current_user.is_authenticated:
            accounts.end_sessions(current_user._get_current_object())
            db.session.commit()
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
        return redirect(url_for("main.index"))
    if not current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return render_template("auth/logout.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    user = current_user._get_current_object()
    profile_form = AccountForm(prefix="profile", obj=None if request.method == "POST" else user)
    password_form = PasswordForm(prefix="password")
    status = 200
    if request.method == "POST":
        if "profile-submit" in request.form and profile_form.validate_on_submit():
            _, refused = attempt(
                profile_form,
                lambda: accounts.update_profile(user, profile_form.display_name.data),
            )
            if not refused:
                flash("Your profile is saved.", "success")
                return redirect(url_for("auth.account"))
        elif "password-submit" in request.form and password_form.validate_on_submit():
            _, refused = attempt(
                password_form,
                lambda: accounts.change_password(
                    user, password_form.current_password.data, password_form.new_password.data
                ),
            )
            if not refused:
                # This session goes on; every other one has ended.
                _start_session(user)
                flash("Your password is changed. Other sessions have been signed out.", "success")
                return redirect(url_for("auth.account"))
        status = 400
    return render_template(
        "auth/account.html", profile_form=profile_form, password_form=password_form
    ), status


RESET_SENT = (
    "If an account uses that address, a link to reset its password is on its way. "
    "It works once, within an hour."
)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(rate("reset"), methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = accounts.find_by_email(form.email.data)
        if user is not None:
            token = accounts.make_reset_token(user)
            base = current_app.config.get("SITE_URL") or request.host_url.rstrip("/")
            link = base + url_for("auth.reset_with_token", token=token)
            send_mail(
                user.email,
                "Reset your Plenary password",
                f"Someone asked to reset the password of {user.username} on Plenary.\n\n"
                f"To choose a new password, open:\n{link}\n\n"
                "The link works once and expires in an hour. If it was not you, ignore this.",
            )
        # The same answer whether or not the address is known.
        flash(RESET_SENT, "info")
        return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset_request.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(rate("reset"), methods=["POST"])
def reset_with_token(token: str):
    if accounts.user_for_reset_token(token) is None:
        flash("This reset link is invalid, expired or already used. Ask for a new one.", "error")
        return redirect(url_for("auth.reset_request"))
    form = ResetForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        user, refused = attempt(form, lambda: accounts.reset_password(token, form.password.data))
        if not refused:
            _start_session(user)
            flash("Your password is changed and you are signed in.", "success")
            return redirect(url_for("main.index"))
    return render_template("auth/reset.html", form=form), status
