"""Announcements: posted by the manager with a photo or a recording, told to every household,
first on the villagers' page and on the store's TV, withdrawn by staff, never shown to
another village."""

import io
import re
import struct
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.audit import AuditEvent
from notifications.models import Announcement, Notification
from notifications.services import announcement_post, announcement_withdraw
from notifications.texts import sms_text, text
from tests.conftest import form_key
from tests.wishwall.conftest import jpeg_upload, stored_files

NEW = reverse("notifications:announcement_new")
LIST = reverse("notifications:announcements")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def wav_upload(seconds: float, rate: int = 8000, name="voice.wav") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * int(seconds * rate))
    return SimpleUploadedFile(name, buffer.getvalue(), "audio/wav")


def webm_upload() -> SimpleUploadedFile:
    """The first bytes of a MediaRecorder recording (an EBML header), as Chrome sends it."""
    return SimpleUploadedFile(
        "recording.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 400, "audio/webm;codecs=opus"
    )


def m4a_upload(seconds: int) -> SimpleUploadedFile:
    """An MP4 whose movie header states `seconds` (timescale 1000)."""
    mvhd_body = b"\x00" * 4 + b"\x00" * 8 + struct.pack(">II", 1000, seconds * 1000) + b"\x00" * 80
    mvhd = struct.pack(">I4s", 8 + len(mvhd_body), b"mvhd") + mvhd_body
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    ftyp = struct.pack(">I4s", 16, b"ftyp") + b"M4A \x00\x00\x00\x00"
    return SimpleUploadedFile("voice.m4a", ftyp + moov, "audio/mp4")


NOT_PLAYABLE = "This file is not a recording the phones can play."


def mp3_upload(*, tagged: bool) -> SimpleUploadedFile:
    """Three MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each), after an ID3
    tag of 10 bytes when `tagged`."""
    frame = bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 413
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10 if tagged else b""
    return SimpleUploadedFile("voice.mp3", tag + frame * 3, "audio/mpeg")


def post(client, **fields):
    return client.post(
        NEW, {"text": "周六早上8点村里大扫除", "idempotency_key": form_key(), **fields}
    )


def page_text(response) -> str:
    return response.content.decode().replace("&#x27;", "'")


def test_the_manager_posts_with_a_photo_and_every_active_household_is_told(
    client_manager_x, card_a, card_b, card_y, media_root
):
    response = post(client_manager_x, photo=jpeg_upload(exif_gps=True))
    assert response.status_code == 302 and response.url == LIST
    announcement = Announcement.objects.get()
    assert announcement.village_id == card_a.household.village_id and announcement.photo
    assert announcement.photo.name.endswith(".jpg") and "photo" not in announcement.photo.name
    told = Notification.objects.filter(kind=Notification.Kind.ANNOUNCEMENT)
    assert sorted(told.values_list("household_id", flat=True)) == sorted(
        [card_a.household_id, card_b.household_id]
    )  # village Y's household hears nothing
    assert set(told.values_list("sms_status", flat=True)) == {Notification.Sms.PENDING}
    message = told.first()
    assert "announcement" in text(message)
    assert "大扫除" not in sms_text(message)  # the words may name people: never in an SMS
    assert AuditEvent.objects.filter(action="announcement.post").count() == 1


def test_a_recording_is_kept_with_the_type_its_content_shows(
    client_manager_x, client_villager_a, card_a, media_root
):
    assert post(client_manager_x, audio=webm_upload()).status_code == 302
    announcement = Announcement.objects.get()
    assert announcement.audio_type == "audio/webm" and announcement.audio.name.endswith(".webm")
    assert "recording" not in announcement.audio.name
    response = client_villager_a.get(
        reverse("notifications:announcement_audio", args=[announcement.pk])
    )
    assert response.status_code == 200 and response["Content-Type"] == "audio/webm"
    assert b"".join(response.streaming_content).startswith(b"\x1a\x45\xdf\xa3")


@pytest.mark.parametrize(
    ("upload", "error"),
    [
        (
            lambda: SimpleUploadedFile("voice.mp3", b"not a recording\n" * 40, "audio/mpeg"),
            "This file is not a recording the phones can play.",
        ),
        *(
            (lambda head=head: SimpleUploadedFile("voice.m4a", head + b"\x00" * 400), NOT_PLAYABLE)
            for head in (
                b"\x00\x00\x00\x18ftypheic",  # a photo from an iPhone
                b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x00#!AMR",  # AMR voice
                b"ID3<html><body>",  # a tag with no MP3 after it
                b"\xff\xe0garbage",  # a frame sync and nothing of a frame
            )
        ),
        (lambda: wav_upload(181), "The recording lasts 181 seconds; the longest allowed is 180."),
        (lambda: m4a_upload(600), "The recording lasts 600 seconds; the longest allowed is 180."),
        (
            lambda: SimpleUploadedFile("big.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * (2 << 20)),
            "The recording is 2.0\xa0MB; the largest allowed is 2.0\xa0MB.",
        ),
    ],
    ids=[
        "not-audio",
        "heic",
        "amr-3gp",
        "id3-without-mp3",
        "sync-without-frame",
        "wav-too-long",
        "m4a-too-long",
        "too-large",
    ],
)
def test_a_bad_recording_is_refused_with_a_message_and_nothing_is_saved(
    client_manager_x, card_a, media_root, upload, error
):
    response = post(client_manager_x, audio=upload(), photo=jpeg_upload())
    assert response.status_code == 200
    assert error in page_text(response)
    assert not Announcement.objects.exists() and not Notification.objects.exists()
    assert stored_files(media_root) == []


def test_a_recording_within_the_limits_passes(client_manager_x, card_a, media_root):
    assert post(client_manager_x, audio=wav_upload(3)).status_code == 302
    assert post(client_manager_x, audio=m4a_upload(60)).status_code == 302
    assert post(client_manager_x, audio=mp3_upload(tagged=True)).status_code == 302
    assert post(client_manager_x, audio=mp3_upload(tagged=False)).status_code == 302
    assert list(Announcement.objects.values_list("audio_type", flat=True)) == [
        "audio/mpeg",
        "audio/mpeg",
        "audio/mp4",
        "audio/wav",
    ]


def test_a_text_file_named_as_a_photo_is_refused(client_manager_x, card_a, media_root):
    fake = SimpleUploadedFile("photo.jpg", b"this is not a picture\n" * 20, "image/jpeg")
    response = post(client_manager_x, photo=fake)
    assert "This file is not a photo." in page_text(response)
    assert not Announcement.objects.exists()


def test_an_empty_announcement_is_refused(client_manager_x, card_a):
    response = post(client_manager_x, text="   ")
    assert response.status_code == 200 and "This field is required." in page_text(response)
    assert not Announcement.objects.exists()


def test_a_double_click_posts_once_and_tells_once(client_manager_x, card_a):
    fields = {"text": "停水通知", "idempotency_key": form_key()}
    assert client_manager_x.post(NEW, fields).status_code == 302
    assert client_manager_x.post(NEW, fields).status_code == 302
    assert Announcement.objects.count() == 1 and Notification.objects.count() == 1


def test_villagers_see_it_first_on_their_page_and_another_village_never(
    client_villager_a, client_manager_y, manager_x, manager_y, card_a, card_y, media_root
):
    ours = announcement_post(
        village=manager_x.village, actor=manager_x, text="啊道村：周六义务劳动", photo=jpeg_upload()
    )
    announcement_post(village=manager_y.village, actor=manager_y, text="富村：商店周一晚开门")
    page = page_text(client_villager_a.get(reverse("points:me")))
    assert "周六义务劳动" in page and "商店周一晚开门" not in page
    assert page.index("周六义务劳动") < page.index("balance-figure")
    assert reverse("notifications:announcement_photo", args=[ours.pk]) in page
    assert 'data-speak="啊道村：周六义务劳动"' in page  # the phone reads it aloud
    assert "周六义务劳动" not in page_text(client_manager_y.get(LIST))
    photo = reverse("notifications:announcement_photo", args=[ours.pk])
    assert client_manager_y.get(photo).status_code == 404
    assert client_villager_a.get(photo)["Content-Type"] == "image/jpeg"


def test_the_store_tv_shows_the_latest(client_manager_x, manager_x, manager_y, card_a):
    announcement_post(village=manager_x.village, actor=manager_x, text="旧的通知")
    announcement_post(village=manager_x.village, actor=manager_x, text="最新的通知")
    announcement_post(village=manager_y.village, actor=manager_y, text="别村的通知")
    month = timezone.localdate().replace(day=1) - timezone.timedelta(days=1)
    page = page_text(
        client_manager_x.get(reverse("reports:board_display", args=[month.year, month.month]))
    )
    assert "最新的通知" in page and "旧的通知" not in page and "别村的通知" not in page


def test_withdrawn_it_is_gone_for_villagers_and_kept_for_staff(
    client_manager_x, client_supervisor_x, client_villager_a, client_manager_y, manager_x, card_a
):
    announcement = announcement_post(
        village=manager_x.village, actor=manager_x, text="这条通知发错了", photo=jpeg_upload()
    )
    withdraw = reverse("notifications:announcement_withdraw", args=[announcement.pk])
    # Found by a probe: one click took it down for good. It is asked once more, saying so.
    listed = client_manager_x.get(LIST).content.decode()
    asked = re.search(
        r"<details[^>]*>\s*<summary[^>]*>Withdraw</summary>(.*?)</details>", listed, re.S
    )
    assert asked and f'action="{withdraw}"' in asked[1] and "cannot be shown again" in asked[1]
    assert client_manager_y.post(withdraw).status_code == 404  # another village's
    assert client_supervisor_x.post(withdraw).status_code == 302
    announcement.refresh_from_db()
    assert announcement.withdrawn_at is not None
    assert "这条通知发错了" not in page_text(client_villager_a.get(reverse("points:me")))
    assert "这条通知发错了" not in page_text(client_villager_a.get(LIST))
    photo = reverse("notifications:announcement_photo", args=[announcement.pk])
    assert client_villager_a.get(photo).status_code == 404
    staff_list = page_text(client_manager_x.get(LIST))
    assert "这条通知发错了" in staff_list and "withdrawn" in staff_list
    # A second withdrawal is refused with a message and changes nothing.
    response = client_manager_x.post(withdraw, follow=True)
    assert "This announcement has been withdrawn already." in page_text(response)
    assert AuditEvent.objects.filter(action="announcement.withdraw").count() == 1


def test_only_the_manager_posts(client_supervisor_x, client_villager_a, card_a):
    assert client_supervisor_x.get(NEW).status_code == 403
    assert (
        client_villager_a.post(NEW, {"text": "x", "idempotency_key": form_key()}).status_code == 403
    )
    assert not Announcement.objects.exists()


def test_the_form_page_may_use_the_microphone_and_no_other_page_may(client_manager_x, card_a):
    assert "microphone=(self)" in client_manager_x.get(NEW)["Permissions-Policy"]
    assert "microphone=()" in client_manager_x.get(LIST)["Permissions-Policy"]


def test_the_cached_villager_page_shows_a_new_or_withdrawn_announcement_at_once(
    client_villager_a, manager_x, card_a
):
    home = reverse("points:me")
    assert "停电通知" not in page_text(client_villager_a.get(home))  # cached now
    announcement = announcement_post(village=manager_x.village, actor=manager_x, text="停电通知")
    assert "停电通知" in page_text(client_villager_a.get(home))
    announcement_withdraw(announcement=announcement, actor=manager_x)
    assert "停电通知" not in page_text(client_villager_a.get(home))


def test_a_withdrawn_announcement_is_not_texted_afterwards(
    manager_x, manager_y, card_a, card_b, card_y, settings
):
    """Found by a probe: posted by mistake in the evening and withdrawn at once, it was still
    texted to every household the next morning, which then found nothing on its page."""
    import datetime

    from notifications.sending import messages_send

    settings.SMS_QUIET_HOURS = (0, 23)  # every hour is quiet: the messages wait
    mistake = announcement_post(village=manager_x.village, actor=manager_x, text="误发的通知")
    kept = announcement_post(village=manager_y.village, actor=manager_y, text="Y村的通知")
    announcement_withdraw(announcement=mistake, actor=manager_x)
    settings.SMS_QUIET_HOURS = (0, 0)
    run = messages_send(now=timezone.now() + datetime.timedelta(days=1))
    withdrawn = Notification.objects.filter(params__announcement=mistake.pk)
    assert withdrawn.count() == 2  # still in the households' lists, as sent ones would be
    assert set(withdrawn.values_list("sms_status", flat=True)) == {Notification.Sms.WITHDRAWN}
    assert not set(run.sent) & set(withdrawn.values_list("pk", flat=True))
    (other,) = Notification.objects.filter(params__announcement=kept.pk)
    assert other.pk in run.sent  # another announcement goes as it would
