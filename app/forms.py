"""Form pieces shared by every blueprint."""

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import ValidationError as WTFValidationError

from .errors import DomainError, NotFound, PermissionDenied
from .extensions import db
from .services.accounts import has_control_chars


class PlenaryForm(FlaskForm):
    """Every form of the site: fields read text parts only.

    Plenary takes no uploads. Flask-WTF would hand a file part named like a
    text field to its validators as a FileStorage (and a JSON body's numbers,
    lists and objects as they are), where `len()` or `.strip()` raise; so a
    form reads the text fields of the body and nothing else, and such a part
    is simply missing (the field's own "required" message, never a 500).
    """

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            if isinstance(formdata, CombinedMultiDict):
                return request.form
            if formdata is not None and request.is_json:
                return MultiDict(
                    [(k, v) for k, v in formdata.items(multi=True) if isinstance(v, str)]
                )
            return formdata


class UploadForm(PlenaryForm):
    """A form with file fields: the files reach those fields only, text the rest."""

    class Meta(PlenaryForm.Meta):
        def wrap_formdata(self, form, formdata):
            data = super().wrap_formdata(form, formdata)
            files = {f.name for f in form if isinstance(f, FileField)}
            if data is None or not request.files or not files:
                return data
            uploads = [(k, v) for k, v in request.files.items(multi=True) if k in files]
            return CombinedMultiDict([data, MultiDict(uploads)])


class ConfirmForm(PlenaryForm):
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


def attempt(form: FlaskForm, action, reraise=(PermissionDenied, NotFound)):
    """Run a service call for a submitted form, and commit if it succeeds.

    Returns (result, None); or (None, status) when the service refused: the
    transaction is rolled back and the refusal shown on the form, which still
    holds what the user typed. Refusals of the `reraise` kinds (not allowed,
    not found) go to the error handler's page instead.
    """
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, reraise):
            raise
        apply_domain_error(form, exc)
        return None, exc.status
    db.session.commit()
    return result, None
