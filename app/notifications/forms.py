"""The mail preferences form: one choice per topic."""

from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField
from wtforms.fields.choices import SelectChoice

from ..models import Delivery, Topic
from ..models.mail import TOPIC_LABELS

CHOICES = [
    SelectChoice(Delivery.immediate.value, "Email at once"),
    SelectChoice(Delivery.digest.value, "In the daily digest"),
    SelectChoice(Delivery.never.value, "Never by email"),
]


class PreferencesForm(FlaskForm):
    submit = SubmitField("Save my choices")

    def topic_fields(self):
        return [getattr(self, f"topic_{topic.value}") for topic in Topic]


for _topic in Topic:
    setattr(
        PreferencesForm,
        f"topic_{_topic.value}",
        RadioField(TOPIC_LABELS[_topic], choices=CHOICES),
    )
