"""Forms of the articles blueprint: comments, replies, guest comments, edits."""

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..forms import PlenaryForm, UploadForm, no_control_chars
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


class ArticleForm(PlenaryForm):
    """An admin writes or edits an article; "Preview" renders the body without saving."""

    title = StringField(
        "Title",
        validators=[
            DataRequired("Give the article a title."),
            Length(max=300, message="A title has at most 300 characters."),
            no_control_chars,
        ],
    )
    source = StringField(
        "Source (shown as “Submitted by”)",
        validators=[
            Optional(),
            Length(max=200, message="At most 200 characters."),
            no_control_chars,
        ],
    )
    author_name = StringField(
        "Author",
        validators=[
            Optional(),
            Length(max=200, message="At most 200 characters."),
            no_control_chars,
        ],
    )
    published_at = DateTimeLocalField(
        "Date (UTC, optional)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    original_url = StringField(
        "Original URL (optional)",
        validators=[
            Optional(),
            Length(max=1000, message="A web address has at most 1,000 characters."),
            no_control_chars,
        ],
    )
    body = TextAreaField(
        "Text (Markdown)",
        validators=[
            DataRequired("Write the text of the article."),
            Length(max=200_000, message="The text has at most 200,000 characters."),
            no_control_chars,
        ],
    )
    allow_guest_comments = BooleanField("Visitors may leave guest comments (held for approval)")
    preview = SubmitField("Preview")
    save = SubmitField("Save article")


class ImportForm(UploadForm):
    """A document in the seed format, uploaded or pasted; "Preview" shows what it would create."""

    document = FileField("Upload a document (.txt, UTF-8)")
    text = TextAreaField(
        "…or paste it here",
        validators=[Optional(), Length(max=500_000, message="At most 500,000 characters.")],
    )
    name = StringField(
        "Name of the document (optional; an upload keeps its file name)",
        validators=[Optional(), Length(max=300, message="At most 300 characters.")],
    )
    preview = SubmitField("Preview")
    submit = SubmitField("Import")
