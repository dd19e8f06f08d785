"""Form pieces shared by every blueprint."""

from flask_wtf import FlaskForm
from wtforms import ValidationError as WTFValidationError

from .services.accounts import has_control_chars


class ConfirmForm(FlaskForm):
    """An empty form for POST-only buttons: it carries the CSRF token."""


def no_control_chars(_form, field) -> None:
    """WTForms validator: refuse control characters (newlines allowed)."""
    if field.data and isinstance(field.data, str) and has_control_chars(field.data):
        raise WTFValidationError("This field holds control characters; please remove them.")


def apply_domain_error(form: FlaskForm, exc) -> None:
    """Show a service's refusal on the form field it names (or the whole form)."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = (
            [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
        )
    else:
        form.form_errors.append(exc.message)
