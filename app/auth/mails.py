"""The mails of the account pages: sign-up confirmation, "you have an account", reset.

Each goes through `app.mail.send_mail` (SMTP, or the log when MAIL_SERVER is
unset), looked up when called, so tests can catch the mail in one place.
"""

from flask import current_app

from .. import mail
from ..models.user import User
from ..services import accounts
from ..urls import absolute_url as _link


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def send_confirmation(user: User, address: str | None = None) -> None:
    """A link that confirms `address` (the sign-up's own by default) and finishes the sign-up."""
    address = address or (user.email if user.has_address else None)
    if address is None:
        # A sign-up whose address belongs to another account: nothing to send.
        return
    link = _link("auth.confirm_signup", token=accounts.make_confirm_token(user, address))
    lifetime = _duration(current_app.config["SIGNUP_CONFIRM_MAX_AGE"])
    mail.send_mail(
        address,
        "Confirm your address to finish signing up on Plenary",
        f"Someone signed up on Plenary as @{user.username} with this address.\n\n"
        f"To confirm the address and finish signing up, open:\n{link}\n\n"
        f"The link works once, within {lifetime}. If you did not sign up as "
        f"@{user.username}, do not open it and ignore this mail: no account is made.",
    )


def send_already_member(user: User) -> None:
    """Tell the owner of an address that someone tried to sign up with it."""
    mail.send_mail(
        user.email,
        "You already have a Plenary account",
        "Someone tried to sign up on Plenary with this address. "
        f"You already have an account, @{user.username}: sign in at\n{_link('auth.login')}\n"
        f"or reset your password at\n{_link('auth.reset_request')}\n\n"
        "If it was not you, ignore this mail.",
    )


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
    link = _link("auth.reset_with_token", token=accounts.make_reset_token(user))
    mail.send_mail(
        user.email,
        "Reset your Plenary password",
        f"Someone asked to reset the password of {user.username} on Plenary.\n\n"
        f"To choose a new password, open:\n{link}\n\n"
        f"The link works once and expires in "
        f"{_duration(current_app.config['PASSWORD_RESET_MAX_AGE'])}. "
        "If it was not you, ignore this.",
    )


def send_no_account(address: str) -> None:
    """The answer to a reset request for an address no account uses (same work as a reset)."""
    mail.send_mail(
        address,
        "Reset your Plenary password",
        "Someone asked to reset a Plenary password for this address, but no account "
        "uses it. If it was you, perhaps you signed up with another address; or sign up at\n"
        f"{_link('auth.signup')}\n\nIf it was not you, ignore this mail.",
    )


def send_email_change(user: User, address: str, token: str) -> None:
    """The link that moves `user` to `address`, sent to that address."""
    link = _link("auth.confirm_email_change", token=token)
    mail.send_mail(
        address,
        "Confirm your new address on Plenary",
        f"@{user.username} asked to use this address on Plenary.\n\n"
        f"To confirm it, open this link while signed in as @{user.username}:\n{link}\n\n"
        "If it was not you, ignore this mail: nothing changes.",
    )


def send_email_change_requested(user: User, address: str) -> None:
    """Tell the current address that a move to another one was asked for."""
    mail.send_mail(
        user.email,
        "Your Plenary address is about to change",
        f"Someone signed in as @{user.username} asked to move this account to {address}. "
        "It changes only once that address confirms. If it was not you, change your "
        f"password at\n{_link('auth.account')}",
    )


def send_email_changed(username: str, old: str, new: str) -> None:
    """Tell the old address that the account moved."""
    mail.send_mail(
        old,
        "Your Plenary address has changed",
        f"The Plenary account @{username} now uses {new}; mail no longer comes here. "
        f"If it was not you, reset the password at\n{_link('auth.reset_request')}",
    )
