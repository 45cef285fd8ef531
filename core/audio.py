"""Checking uploaded voice recordings (announcements) before they are stored.

The type is decided by the file's first bytes, not by its name or the browser's word: a
recording made in the browser (MediaRecorder: WebM or Ogg with Opus, MP4 on Safari) or by
the phone's recorder (MP4/M4A, MP3, WAV). Formats browsers cannot play (AMR, 3GP's own
codecs aside) are refused with a message. The length is read where the container states it
cheaply (WAV's header, MP4's movie header, Ogg's last page); a WebM from MediaRecorder states
none, and the size limit bounds it (the recorder in static/js/voice-record.js stops itself).
"""

import struct
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# Content type -> file extension of the formats accepted.
EXTENSIONS = {
    "audio/webm": "webm",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
}
OGG_TAIL = 64 * 1024  # the last Ogg page (its granule position) lies within this


# MP4 brands that are no recording a phone's browser plays: still images (HEIF, AVIF) and
# 3GPP, whose AMR voice browsers cannot decode.
NOT_PLAYABLE_BRANDS = (b"hei", b"hev", b"mif1", b"msf1", b"avi", b"3gp", b"3g2")


def _mpeg_frame(data: bytes, at: int) -> bool:
    """Whether an MPEG audio frame header starts at `at`: the frame sync, then a version,
    layer, bitrate and sample rate that are not the reserved (or "bad") values."""
    if at + 4 > len(data) or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return False
    version, layer = (data[at + 1] >> 3) & 0b11, (data[at + 1] >> 1) & 0b11
    bitrate, rate = data[at + 2] >> 4, (data[at + 2] >> 2) & 0b11
    return version != 0b01 and layer != 0b00 and bitrate != 0b1111 and rate != 0b11


def _sniff(data: bytes) -> str | None:
    """The content type the file's first bytes show, or None for anything else."""
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data[4:8] == b"ftyp":
        return None if data[8:12].startswith(NOT_PLAYABLE_BRANDS) else "audio/mp4"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"ID3") and len(data) >= 10:
        # The tag's size (four 7-bit bytes), then the first frame.
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
        return "audio/mpeg" if _mpeg_frame(data, 10 + size) else None
    if _mpeg_frame(data, 0):
        # A bare MP3: its first frame says where the second begins, and it must be there.
        second = _mpeg_frame_length(data)
        return "audio/mpeg" if second and _mpeg_frame(data, second) else None
    return None


# Bitrates (kbit/s) of MPEG-1 Layer III and MPEG-2/2.5 Layer III, and the sample rates.
_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {0b11: (44100, 48000, 32000), 0b10: (22050, 24000, 16000), 0b00: (11025, 12000, 8000)}


def _mpeg_frame_length(data: bytes) -> int:
    """Where the second frame of a bare MP3 (Layer III) should start; 0 when it cannot be
    told (another layer, free format), which the second frame check then refuses."""
    version, layer = (data[1] >> 3) & 0b11, (data[1] >> 1) & 0b11
    bitrate_index, rate_index = data[2] >> 4, (data[2] >> 2) & 0b11
    if layer != 0b01 or bitrate_index == 0:
        return 0
    bitrate = _BITRATES[1 if version == 0b11 else 2][bitrate_index] * 1000
    rate = _RATES[version][rate_index]
    padding = (data[2] >> 1) & 1
    samples = 144 if version == 0b11 else 72
    return samples * bitrate // rate + padding


def _wav_seconds(data: bytes) -> float | None:
    position, byte_rate = 12, None
    while position + 8 <= len(data):
        name, size = data[position : position + 4], struct.unpack_from("<I", data, position + 4)[0]
        if name == b"fmt " and size >= 16:
            byte_rate = struct.unpack_from("<I", data, position + 12)[0]
        elif name == b"data" and byte_rate:
            return min(size, len(data) - position - 8) / byte_rate
        position += 8 + size + (size & 1)
    return None


def _mp4_seconds(data: bytes) -> float | None:
    """The movie header's duration (moov/mvhd), versions 0 and 1."""
    position = 0
    while position + 8 <= len(data):
        size, name = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1 and position + 16 <= len(data):
            size, header = struct.unpack_from(">Q", data, position + 8)[0], 16
        if size < header:
            return None
        if name == b"moov":
            position += header  # into the box: mvhd is its first child in practice
            continue
        if name == b"mvhd":
            body = position + header
            if data[body] == 1:
                scale, duration = struct.unpack_from(">IQ", data, body + 20)
            else:
                scale, duration = struct.unpack_from(">II", data, body + 12)
            return duration / scale if scale else None
        position += size
    return None


def _ogg_seconds(data: bytes) -> float | None:
    """The last page's granule position over the sample rate (Opus counts at 48 kHz)."""
    last = data.rfind(b"OggS", max(0, len(data) - OGG_TAIL))
    if last < 0 or last + 14 > len(data):
        return None
    granule = struct.unpack_from("<q", data, last + 6)[0]
    if b"OpusHead" in data[:512]:
        rate = 48_000
    else:
        vorbis = data.find(b"\x01vorbis", 0, 512)
        if vorbis < 0:
            return None
        rate = struct.unpack_from("<I", data, vorbis + 12)[0]
    return granule / rate if rate and granule > 0 else None


def _seconds(content_type: str, data: bytes) -> float | None:
    try:
        if content_type == "audio/wav":
            return _wav_seconds(data)
        if content_type == "audio/mp4":
            return _mp4_seconds(data)
        if content_type == "audio/ogg":
            return _ogg_seconds(data)
    except (struct.error, IndexError):
        return None
    return None


def audio_check(upload) -> tuple[str, float | None]:
    """The recording's content type and length in seconds (None when not stated), or a
    ValidationError: too large, not a recording browsers play, or too long."""
    limit = settings.MAX_AUDIO_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("The recording is %(size)s; the largest allowed is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            code="audio_too_large",
        )
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    content_type = _sniff(data)
    if content_type is None:
        raise ValidationError(
            _(
                "This file is not a recording the phones can play. Record again, or choose an "
                "MP3, M4A, WebM, Ogg or WAV file."
            ),
            code="not_audio",
        )
    seconds = _seconds(content_type, data)
    if seconds is not None and seconds > settings.MAX_AUDIO_SECONDS:
        raise ValidationError(
            _("The recording lasts %(seconds)d seconds; the longest allowed is %(limit)d.")
            % {"seconds": round(seconds), "limit": settings.MAX_AUDIO_SECONDS},
            code="audio_too_long",
        )
    return content_type, seconds


def audio_validate(upload) -> None:
    """A form field's validator: `audio_check` without its result."""
    audio_check(upload)


def audio_prepare(upload) -> tuple[ContentFile, str, float | None]:
    """A checked copy of the recording under a random name (the uploaded name may carry a
    person's name), its content type and its length when stated."""
    content_type, seconds = audio_check(upload)
    name = f"{uuid.uuid4().hex}.{EXTENSIONS[content_type]}"
    return ContentFile(upload.read(), name=name), content_type, seconds
