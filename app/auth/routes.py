"""Sign-up, sign-in, sign-out, account settings and password reset."""

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import ValidationError
from ..extensions import db, limiter
from ..forms import ConfirmForm, attempt
from ..security import rate, safe_next_url
from ..services import account_data, accounts
from . import bp, mails
from .forms import (
    AccountForm,
    ConfirmSignupForm,
    DeleteAccountForm,
    EmailChangeForm,
    LoginForm,
    PasswordForm,
    ResetForm,
    ResetRequestForm,
    SignupForm,
)


def _start_session(user) -> None:
    # A fresh session on every sign-in: nothing from before survives
    # (no session fixation), then Flask-Login stores id and session version.
    session.clear()
    session.permanent = True
    login_user(user)


# The session key under which a browser keeps the pending sign-up it made.
PENDING_SIGNUP = "pending_signup"


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(rate("signup"), methods=["POST"])
def signup():
    """Sign-up, with the same answer whether or not the address has an account.

    A valid form is answered 200 with the form, as typed, and one notice: a
    link went to the address. Who gets which mail is `mails.send_signup_mail`.
    """
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = SignupForm()
    status = 400 if form.is_submitted() else 200
    sent_to = None
    if form.validate_on_submit():
        resume = accounts.pending_for_ref(session.get(PENDING_SIGNUP))
        result, refused = attempt(
            form,
            lambda: accounts.sign_up(
                form.username.data,
                form.email.data,
                form.password.data,
                form.display_name.data,
                resume=resume,
            ),
        )
        if not refused:
            session[PENDING_SIGNUP] = accounts.pending_ref(result.pending)
            mails.send_signup_mail(result)
            db.session.commit()
            sent_to = accounts.normalise_email(form.email.data)
            status = 200
    return render_template("auth/signup.html", form=form, sent_to=sent_to), status


@bp.route("/signup/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(rate("login"), methods=["POST"])
def confirm_signup(token: str):
    """The link's page: it names the sign-up and confirms only on its own POST.

    A GET changes nothing and never signs in (no login CSRF); a browser that
    did not make the sign-up gives its password; a signed-in member is told
    that confirming signs them out first.
    """
    try:
        user, _ = accounts.confirm_link_target(token)
    except ValidationError as exc:
        flash(exc.message, "error")
        target = "auth.login" if exc.message == accounts.USED_CONFIRM_LINK else "auth.signup"
        return redirect(url_for(target))
    own = accounts.pending_for_ref(session.get(PENDING_SIGNUP))
    form = ConfirmSignupForm()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        confirmed, refused = attempt(
            form, lambda: accounts.confirm_signup(token, form.password.data, own)
        )
        if not refused:
            db.session.commit()
            _start_session(confirmed)
            flash(
                f"Your address is confirmed. Welcome to Plenary, {confirmed.display_name}.",
                "success",
            )
            return redirect(url_for("main.index"))
    return render_template(
        "auth/confirm.html", form=form, pending=user, ask_password=own is not user
    ), status


LOGIN_FAILED = (
    "That username or email and password do not match. "
    "(Signed up recently? Follow the link we mailed you first.)"
)


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
            form.form_errors.append(LOGIN_FAILED)
        elif not user.email_confirmed:
            mails.send_confirmation(user)
            db.session.commit()
            form.form_errors.append(
                "Confirm your email address first: we have sent a new link to it."
            )
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
    email_form = EmailChangeForm(prefix="email")
    delete_form = DeleteAccountForm(prefix="delete")
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
        elif "email-submit" in request.form and email_form.validate_on_submit():
            address, refused = attempt(
                email_form,
                lambda: account_data.request_email_change(
                    user, email_form.email.data, email_form.current_password.data
                ),
            )
            if not refused:
                mails.send_email_change(user, address)
                db.session.commit()
                flash(
                    f"We have sent a link to {address}. Your address changes when you open it.",
                    "info",
                )
                return redirect(url_for("auth.account"))
        status = 400
    return render_template(
        "auth/account.html",
        profile_form=profile_form,
        password_form=password_form,
        email_form=email_form,
        delete_form=delete_form,
    ), status


@bp.route("/account/email/<token>", methods=["GET", "POST"])
@login_required
def confirm_email_change(token: str):
    """The new address's link: a page with a button; the POST moves the account."""
    user = current_user._get_current_object()
    try:
        address = account_data.email_change_target(token, user)
    except ValidationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("auth.account"))
    form = ConfirmForm()
    if form.validate_on_submit():
        result, refused = attempt(form, lambda: account_data.confirm_email_change(token, user))
        if not refused:
            old, new = result
            mails.send_email_changed(user, old)
            db.session.commit()
            flash(f"Your address is now {new}.", "success")
            return redirect(url_for("auth.account"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/email_change.html", form=form, address=address), status


@bp.route("/account/data.json")
@login_required
def download_data():
    """Everything Plenary keeps about the member, as one JSON file."""
    data = account_data.export_data(current_user._get_current_object())
    response = jsonify(data)
    filename = f"plenary-{current_user.username}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/account/delete", methods=["POST"])
@login_required
def delete_account():
    user = current_user._get_current_object()
    form = DeleteAccountForm(prefix="delete")
    if form.validate_on_submit():
        _, refused = attempt(
            form,
            lambda: account_data.delete_account(
                user, form.password.data, delete_content=bool(form.delete_content.data)
            ),
        )
        if not refused:
            logout_user()
            session.clear()
            flash("Your account is deleted. Thank you for taking part.", "info")
            return redirect(url_for("main.index"))
    return render_template(
        "auth/account.html",
        profile_form=AccountForm(prefix="profile", obj=user),
        password_form=PasswordForm(prefix="password", formdata=None),
        email_form=EmailChangeForm(prefix="email", formdata=None),
        delete_form=form,
    ), 400


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
        # One mail either way, and the same answer whether or not the
        # address is known (an unconfirmed sign-up's too: the reset confirms it).
        if user is not None:
            mails.send_reset(user)
        else:
            mails.send_no_account(accounts.normalise_email(form.email.data))
        db.session.commit()
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
