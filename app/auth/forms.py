from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..forms import no_control_chars
from ..models.user import DISPLAY_NAME_MAX, EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX


class SignupForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[DataRequired("Choose a username."), Length(max=USERNAME_MAX), no_control_chars],
    )
    display_name = StringField(
        "Display name",
        validators=[
            DataRequired("Give the name other members will see."),
            Length(max=DISPLAY_NAME_MAX),
            no_control_chars,
        ],
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Give your email address."),
            Length(max=EMAIL_MAX),
            Email("That is not a valid email address.", check_deliverability=False),
        ],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Choose a password."), Length(min=PASSWORD_MIN, max=PASSWORD_MAX)],
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The passwords differ."),
        ],
    )
    submit = SubmitField("Sign up")


class LoginForm(FlaskForm):
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


class AccountForm(FlaskForm):
    display_name = StringField(
        "Display name",
        validators=[
            DataRequired("Give a display name."),
            Length(max=DISPLAY_NAME_MAX),
            no_control_chars,
        ],
    )
    submit = SubmitField("Save")


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired("Give your current password.")]
    )
    new_password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a new password."),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX),
        ],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired("Repeat the new password."),
            EqualTo("new_password", "The passwords differ."),
        ],
    )
    submit = SubmitField("Change password")


class ResetRequestForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Give your email address."),
            Length(max=EMAIL_MAX),
            Email("That is not a valid email address.", check_deliverability=False),
        ],
    )
    submit = SubmitField("Send reset link")


class ResetForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a new password."),
            Length(min=PASSWORD_MIN, max=PASSWORD_MAX),
        ],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The passwords differ."),
        ],
    )
    submit = SubmitField("Set new password")
