"""The mails of the account pages: sign-up confirmation, "you have an account",
reset, and a move to another address.

The views call `send_*`, which put a row in the mail outbox in the view's
transaction (the view commits); the worker (app/tasks.py) writes the text
with `*_text` when it sends, so the links' tokens are made at send time and
never stored. Links come from SITE_URL only (app/urls.py).
"""

from flask import current_app

from .. import mail
from ..models import MailKind
from ..models.user import User
from ..services import account_data, accounts
from ..urls import absolute_url


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _plain(subject: str, body: str) -> tuple[str, str, dict]:
    return subject, "plain", {"body": body}


# --- Queued by the views -------------------------------------------------------------


def send_confirmation(user: User, address: str | None = None) -> None:
    """A link that confirms `address` (the sign-up's own by default) and finishes the sign-up."""
    address = address or (user.email if user.has_address else None)
    if address is None:
        # A sign-up whose address belongs to another account: nothing to send.
        return
    mail.queue_mail(MailKind.signup_confirm, user, to_address=address)


def send_already_member(user: User) -> None:
    """Tell the owner of an address that someone tried to sign up with it."""
    mail.queue_mail(MailKind.already_member, user)


def send_signup_mail(signup: accounts.SignUp) -> None:
    """The one mail a sign-up sends, to the typed address, whoever holds it."""
    holder = signup.holder
    if holder.email_confirmed:
        send_already_member(holder)
    else:
        # The link is this sign-up's own, even when an earlier pending sign-up
        # holds the address: confirming it takes the address over.
        send_confirmation(signup.pending, holder.email)


def send_reset(user: User) -> None:
    mail.queue_mail(MailKind.reset, user)


def send_no_account(address: str) -> None:
    """The answer to a reset request for an address no account uses (same work as a reset)."""
    mail.queue_mail(MailKind.no_account, to_address=address)


def send_email_change(user: User, address: str) -> None:
    """The link that moves `user` to `address` (to that address), and a word to the current one."""
    mail.queue_mail(MailKind.email_change, user, to_address=address)
    mail.queue_mail(MailKind.email_asked, user, detail=address)


def send_email_changed(user: User, old: str) -> None:
    """Tell the old address that the account moved (to `user.email`)."""
    mail.queue_mail(MailKind.email_changed, user, to_address=old, detail=user.email)


# --- Written by the worker ----------------------------------------------------------------


def confirmation_text(user: User, address: str, _detail=None):
    if user.email_confirmed or (user.has_address and address != user.email):
        return None  # confirmed meanwhile, or the sign-up moved to another address
    link = absolute_url("auth.confirm_signup", token=accounts.make_confirm_token(user, address))
    lifetime = _duration(current_app.config["SIGNUP_CONFIRM_MAX_AGE"])
    return _plain(
        "Confirm your address to finish signing up on Plenary",
        f"Someone signed up on Plenary as @{user.username} with this address.\n\n"
        f"To confirm the address and finish signing up, open:\n{link}\n\n"
        f"The link works once, within {lifetime}. If you did not sign up as "
        f"@{user.username}, do not open it and ignore this mail: no account is made.",
    )


def already_member_text(user: User):
    return _plain(
        "You already have a Plenary account",
        "Someone tried to sign up on Plenary with this address. "
        f"You already have an account, @{user.username}: sign in at\n"
        f"{absolute_url('auth.login')}\n"
        f"or reset your password at\n{absolute_url('auth.reset_request')}\n\n"
        "If it was not you, ignore this mail.",
    )


def reset_text(user: User):
    link = absolute_url("auth.reset_with_token", token=accounts.make_reset_token(user))
    return _plain(
        "Reset your Plenary password",
        f"Someone asked to reset the password of {user.username} on Plenary.\n\n"
        f"To choose a new password, open:\n{link}\n\n"
        f"The link works once and expires in "
        f"{_duration(current_app.config['PASSWORD_RESET_MAX_AGE'])}. "
        "If it was not you, ignore this.",
    )


def no_account_text():
    return _plain(
        "Reset your Plenary password",
        "Someone asked to reset a Plenary password for this address, but no account "
        "uses it. If it was you, perhaps you signed up with another address; or sign up at\n"
        f"{absolute_url('auth.signup')}\n\nIf it was not you, ignore this mail.",
    )


def email_change_text(user: User, address: str, _detail=None):
    if address == user.email:
        return None  # moved already
    token = account_data.email_change_token(user, address)
    link = absolute_url("auth.confirm_email_change", token=token)
    return _plain(
        "Confirm your new address on Plenary",
        f"@{user.username} asked to use this address on Plenary.\n\n"
        f"To confirm it, open this link while signed in as @{user.username}:\n{link}\n\n"
        "If it was not you, ignore this mail: nothing changes.",
    )


def email_asked_text(user: User, address: str | None):
    return _plain(
        "Your Plenary address is about to change",
        f"Someone signed in as @{user.username} asked to move this account to {address}. "
        "It changes only once that address confirms. If it was not you, change your "
        f"password at\n{absolute_url('auth.account')}",
    )


def email_changed_text(user: User, old: str, new: str | None):
    return _plain(
        "Your Plenary address has changed",
        f"The Plenary account @{user.username} now uses {new}; mail no longer comes here. "
        f"If it was not you, reset the password at\n{absolute_url('auth.reset_request')}",
    )
