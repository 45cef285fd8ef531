"""The announcement form: it parses and checks input; notifications.services writes."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from core.audio import audio_validate
from core.idempotency import OneTimeKeyMixin
from core.photos import FilesChosenAgainMixin, PhotoInput, photo_validate


class VoiceInput(forms.ClearableFileInput):
    """A recording: the phone's recorder without JavaScript (`capture`), and with it the
    browser's own recorder (static/js/voice-record.js), whose words come with the field."""

    def __init__(self, attrs=None):
        super().__init__({"accept": "audio/*", "capture": True, **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].update(
            {
                "data-voice-record": str(settings.MAX_AUDIO_SECONDS),
                "data-voice-max-bytes": str(settings.MAX_AUDIO_BYTES),
                "data-text-record": pgettext("start a voice recording", "Record"),
                "data-text-stop": _("Stop"),
                "data-text-again": _("Record again"),
                "data-text-recording": _("Recording… %(seconds)s s"),
                "data-text-recorded": _("Recorded %(seconds)s s: listen below before posting."),
                "data-text-no-microphone": _(
                    "The microphone could not be opened. Allow it, or choose a recording file."
                ),
                "data-text-too-large": _(
                    "The recording is %(size)s; the largest allowed is %(limit)s."
                ).replace("%(limit)s", filesizeformat(settings.MAX_AUDIO_BYTES)),
            }
        )
        return context


class AnnouncementForm(FilesChosenAgainMixin, OneTimeKeyMixin, forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Announcement"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy(
            "For example: labour day on Saturday at 8, the store opens late on Monday. Every "
            "household is told; do not write phone or ID numbers."
        ),
    )
    photo = forms.FileField(
        label=gettext_lazy("Photo"),
        required=False,
        validators=[photo_validate],
        widget=PhotoInput(),
        help_text=gettext_lazy("Optional. A JPEG, PNG or WebP picture."),
    )
    audio = forms.FileField(
        label=gettext_lazy("Voice recording"),
        required=False,
        validators=[audio_validate],
        widget=VoiceInput(),
        help_text=gettext_lazy(
            "Optional, for those who do not read: record it here, or choose a recording from "
            "the phone. Without one, the phone can read the text aloud."
        ),
    )
