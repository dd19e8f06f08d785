"""Forms of the articles blueprint: comments, replies, guest comments, edits."""

from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import PlenaryForm, no_control_chars
from ..models.thread import COMMENT_MAX, GUEST_NAME_MAX
from ..params import IntField

BODY_VALIDATORS = [
    DataRequired("Write something before posting: the comment is empty."),
    Length(max=COMMENT_MAX, message=f"A comment has at most {COMMENT_MAX:,} characters."),
    no_control_chars,
]


class CommentForm(PlenaryForm):
    """A member's comment or reply (parent_id: the comment replied to, if any)."""

    body = TextAreaField("Your comment", validators=BODY_VALIDATORS)
    parent_id = IntField("Replying to", validators=[Optional()], render_kw={"hidden": True})


class GuestCommentForm(PlenaryForm):
    """A visitor's comment: a name to show, held for approval."""

    name = StringField(
        "Your name",
        validators=[
            DataRequired("Give a name to sign your comment with."),
            Length(max=GUEST_NAME_MAX, message=f"A name has at most {GUEST_NAME_MAX} characters."),
            no_control_chars,
        ],
    )
    body = TextAreaField("Your comment", validators=BODY_VALIDATORS)


class EditCommentForm(PlenaryForm):
    body = TextAreaField("Your comment", validators=BODY_VALIDATORS)
