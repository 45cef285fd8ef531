"""Searching a rendered page (or .xlsx download) for the cast's personal data."""

import io
import zipfile

from tests.security.conftest import HOUSEHOLD_PHONE
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE

PERSONAL_DATA = {"ID number": SECRET_ID, "member phone": SECRET_PHONE, "phone": HOUSEHOLD_PHONE}


def _text_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":  # an .xlsx download: search the sheets' XML
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = b"".join(archive.read(name) for name in archive.namelist())
    return content.decode("utf-8", "replace")


def personal_data_shown(response, where: str) -> list[str]:
    """'<where> shows the <what>' for each ID number or phone of the cast in the response."""
    text = _text_of(response)
    return [f"{where} shows the {what}" for what, secret in PERSONAL_DATA.items() if secret in text]
