from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..forms import PlenaryForm, no_control_chars
from ..models.user import DISPLAY_NAME_MAX, EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX


def email_field() -> EmailField:
    return EmailField(
        "Email",
        validators=[
            DataRequired("Give your email address."),
            Length(max=EMAIL_MAX),
            Email("That is not a valid email address.", check_deliverability=False),
        ],
    )


def new_password_field(label: str, missing: str) -> PasswordField:
    return PasswordField(
        label, validators=[DataRequired(missing), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)]
    )


def repeat_password_field(label: str, missing: str, of: str) -> PasswordField:
    return PasswordField(
        label, validators=[DataRequired(missing), EqualTo(of, "The passwords differ.")]
    )


def display_name_field(missing: str) -> StringField:
    return StringField(
        "Display name",
        validators=[DataRequired(missing), Length(max=DISPLAY_NAME_MAX), no_control_chars],
    )


class SignupForm(PlenaryForm):
    username = StringField(
        "Username",
        validators=[DataRequired("Choose a username."), Length(max=USERNAME_MAX), no_control_chars],
    )
    display_name = display_name_field("Give the name other members will see.")
    email = email_field()
    password = new_password_field("Password", "Choose a password.")
    confirm = repeat_password_field("Repeat the password", "Repeat the password.", of="password")
    submit = SubmitField("Sign up")


class LoginForm(PlenaryForm):
    login = StringField(
        "Username or email",
        validators=[
            DataRequired("Give your username or email."),
            Length(max=EMAIL_MAX),
            no_control_chars,
        ],
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Give your password."), Length(max=PASSWORD_MAX)]
    )
    next = HiddenField()
    submit = SubmitField("Sign in")


class AccountForm(PlenaryForm):
    display_name = display_name_field("Give a display name.")
    submit = SubmitField("Save")


class PasswordForm(PlenaryForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Give your current password.")]
    )
    new_password = new_password_field("New password", "Choose a new password.")
    confirm = repeat_password_field(
        "Repeat the new password", "Repeat the new password.", of="new_password"
    )
    submit = SubmitField("Change password")


class EmailChangeForm(PlenaryForm):
    email = email_field()
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Give your current password."), Length(max=PASSWORD_MAX)],
    )
    submit = SubmitField("Send a link to the new address")


class DeleteAccountForm(PlenaryForm):
    password = PasswordField(
        "Password",
        validators=[DataRequired("Give your password to delete the account."),
                    Length(max=PASSWORD_MAX)],
    )  # fmt: skip
    delete_content = BooleanField("Delete my comments too, and withdraw my open proposals")
    submit = SubmitField("Delete my account")


class ConfirmSignupForm(PlenaryForm):
    # Asked only when this browser did not make the sign-up.
    password = PasswordField("Password of this sign-up", validators=[Length(max=PASSWORD_MAX)])
    submit = SubmitField("Confirm and sign in")


class ResetRequestForm(PlenaryForm):
    email = email_field()
    submit = SubmitField("Send reset link")


class ResetForm(PlenaryForm):
    password = new_password_field("New password", "Choose a new password.")
    confirm = repeat_password_field(
        "Repeat the new password", "Repeat the password.", of="password"
    )
    submit = SubmitField("Set new password")
