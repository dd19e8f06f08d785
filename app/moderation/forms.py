"""Forms of the moderation blueprint."""

from wtforms import (
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import PlenaryForm, no_control_chars
from ..models.moderation import ACTION_LABELS, NOTE_MAX, REASON_MAX
from ..models.types import DB_INT_MAX
from ..models.user import USERNAME_MAX, Role
from ..params import DayField, IntField, MomentLocalField

REPORT_REASONS = [
    SelectChoice("spam", "Spam"),
    SelectChoice("abuse", "Abuse or harassment"),
    SelectChoice("off_topic", "Off-topic"),
    SelectChoice("other", "Something else (say what in the note)"),
]

# Suspension lengths offered, in days; "custom" reads the date-time field.
SUSPENSION_CHOICES = [
    SelectChoice("1", "1 day"),
    SelectChoice("3", "3 days"),
    SelectChoice("7", "1 week"),
    SelectChoice("30", "30 days"),
    SelectChoice("365", "1 year"),
    SelectChoice("custom", "Until a date I choose"),
]


def _reason_field(label="Reason (shown in the moderation log)", default=None):
    return StringField(
        label,
        default=default,
        validators=[
            DataRequired("Give a reason: it is shown in the moderation log."),
            Length(max=REASON_MAX, message=f"A reason has at most {REASON_MAX} characters."),
            no_control_chars,
        ],
    )


class ReasonForm(PlenaryForm):
    """Every moderation action: a reason, and where to go back to."""

    reason = _reason_field()
    next = HiddenField()
    submit = SubmitField("Confirm")


class ApproveForm(ReasonForm):
    reason = _reason_field(default="Meets the guidelines.")


class MoveForm(ReasonForm):
    title = StringField(
        "Title of the new thread (optional)",
        validators=[Optional(), Length(max=300), no_control_chars],
    )


class SuspendForm(ReasonForm):
    duration = RadioField(
        "For how long", choices=SUSPENSION_CHOICES, default="7", validators=[InputRequired()]
    )
    until = MomentLocalField(
        "Until (UTC, with “Until a date I choose”)",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )
    thread_id = HiddenField()


class ReportForm(PlenaryForm):
    reason = RadioField(
        "Why are you reporting this?",
        choices=REPORT_REASONS,
        validators=[InputRequired("Choose a reason.")],
    )
    note = TextAreaField(
        "Note for the moderators (optional)",
        validators=[
            Length(max=NOTE_MAX, message=f"A note has at most {NOTE_MAX} characters."),
            no_control_chars,
        ],
    )
    next = HiddenField()
    submit = SubmitField("Send report")


class RoleForm(PlenaryForm):
    username = StringField(
        "Username",
        validators=[DataRequired("Name the member."), Length(max=USERNAME_MAX), no_control_chars],
    )
    role = SelectField(
        "New role",
        choices=[SelectChoice(role.value, role.value.title()) for role in Role],
        validators=[InputRequired()],
    )
    reason = _reason_field()
    submit = SubmitField("Change role")


class LogFilterForm(PlenaryForm):
    """The log's filters: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    moderator = StringField(
        "Moderator (username)", validators=[Optional(), Length(max=USERNAME_MAX), no_control_chars]
    )
    action = SelectField(
        "Action",
        choices=[
            SelectChoice("", "Any action"),
            *(SelectChoice(k, v) for k, v in ACTION_LABELS.items()),
        ],
        validators=[Optional()],
    )
    since = DayField("From", validators=[Optional()])
    until = DayField("To", validators=[Optional()])
    page = IntField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=DB_INT_MAX)])
