"""Forms of the proposals blueprint (they validate input, services apply the rules)."""

from wtforms import (
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import PlenaryForm, no_control_chars
from ..models import ProposalState, WithdrawalReason
from ..models.moderation import REASON_MAX
from ..models.proposal import BODY_MAX, DESCRIPTION_MAX, EXPLANATION_MAX, SLUG_MAX, TITLE_MAX
from ..params import IntField, MomentLocalField
from ..services.proposals import REASON_LABELS

NO_SUCCESSOR = 0


class ProposalForm(PlenaryForm):
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give your proposal a title."),
            Length(max=TITLE_MAX, message=f"A title has at most {TITLE_MAX} characters."),
            no_control_chars,
        ],
    )
    body = TextAreaField(
        "Text",
        validators=[
            DataRequired("Write the text of the proposal."),
            Length(max=BODY_MAX, message=f"The text has at most {BODY_MAX:,} characters."),
            no_control_chars,
        ],
    )
    submit = SubmitField("Submit proposal")
    # Without JavaScript, the way to see similar proposals before submitting.
    preview = SubmitField("Preview and check for similar proposals")


class WithdrawForm(PlenaryForm):
    reason = SelectField(
        "Reason",
        choices=[SelectChoice(r.value, REASON_LABELS[r]) for r in WithdrawalReason],
        validators=[InputRequired("Choose a reason.")],
        validate_choice=True,
    )
    explanation = TextAreaField(
        "Explanation",
        validators=[
            DataRequired("Explain to your supporters why you withdraw it."),
            Length(
                max=EXPLANATION_MAX,
                message=f"The explanation has at most {EXPLANATION_MAX:,} characters.",
            ),
            no_control_chars,
        ],
    )
    successor = SelectField("In favour of (optional)", coerce=int, default=NO_SUCCESSOR)
    submit = SubmitField("Withdraw proposal")

    def set_successors(self, proposals) -> None:
        self.successor.choices = [SelectChoice(NO_SUCCESSOR, "No successor")] + [
            SelectChoice(p.id, f"{p.label}: {p.title[:80]}") for p in proposals
        ]


class InviteForm(PlenaryForm):
    username = StringField(
        "Username of the member to invite",
        validators=[
            DataRequired("Give the member's username."),
            Length(max=64, message="A username has at most 32 characters."),
            no_control_chars,
        ],
    )
    submit = SubmitField("Invite as co-author")


class RoundForm(PlenaryForm):
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give the round a title."),
            Length(max=TITLE_MAX, message=f"A title has at most {TITLE_MAX} characters."),
            no_control_chars,
        ],
    )
    slug = StringField(
        "Address (optional)",
        validators=[
            Optional(),
            Length(max=SLUG_MAX, message=f"An address has at most {SLUG_MAX} characters."),
            no_control_chars,
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[
            Optional(),
            Length(max=DESCRIPTION_MAX, message=f"At most {DESCRIPTION_MAX:,} characters."),
            no_control_chars,
        ],
    )
    submission_deadline = MomentLocalField(
        "Submission deadline (UTC, optional)",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )
    cosign_deadline = MomentLocalField(
        "Co-signing deadline (UTC, optional)",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )
    threshold = IntField(
        "Threshold: supporters a proposal needs to go to the floor (optional)",
        validators=[
            Optional(),
            NumberRange(min=1, max=10_000_000, message="Give a whole number of at least 1."),
        ],
    )
    submit = SubmitField("Open round")


class DecideForm(PlenaryForm):
    outcome = SelectField(
        "Outcome",
        choices=[
            SelectChoice(ProposalState.adopted.value, "Adopted"),
            SelectChoice(ProposalState.rejected.value, "Rejected"),
            SelectChoice(ProposalState.merged.value, "Merged into another proposal"),
        ],
        validators=[InputRequired("Choose an outcome.")],
    )
    merged_into = SelectField("Merged into (for a merge)", coerce=int, default=NO_SUCCESSOR)
    note = TextAreaField(
        "Note for the record (optional)",
        validators=[
            Optional(),
            Length(max=EXPLANATION_MAX, message=f"At most {EXPLANATION_MAX:,} characters."),
            no_control_chars,
        ],
    )
    submit = SubmitField("Record decision")

    def set_targets(self, proposals) -> None:
        self.merged_into.choices = [SelectChoice(NO_SUCCESSOR, "Not merged")] + [
            SelectChoice(p.id, f"{p.label}: {p.title[:80]} ({p.state.value})") for p in proposals
        ]


class RoundSettingsForm(PlenaryForm):
    """An open round's settings; every change is logged with the reason."""

    title = RoundForm.title
    description = RoundForm.description
    submission_deadline = RoundForm.submission_deadline
    cosign_deadline = RoundForm.cosign_deadline
    threshold = RoundForm.threshold
    reason = TextAreaField(
        "Reason for the change (shown in the public moderation log)",
        validators=[
            DataRequired("Give a reason: it is shown in the moderation log."),
            Length(max=REASON_MAX, message=f"A reason has at most {REASON_MAX} characters."),
            no_control_chars,
        ],
    )
    submit = SubmitField("Save settings")
