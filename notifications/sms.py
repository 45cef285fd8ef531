"""Text-message providers behind one call, chosen by the environment (SMS_BACKEND).

- `log` (the default): the message goes to the log, its phone masked (like Django's console
  e-mail backend), so development and a deployment without a provider lose nothing.
- `aliyun`: Aliyun SMS (dysmsapi, action SendSms, API version 2017-05-25) over its RPC API,
  signed as Aliyun documents ("Signature mechanism", RPC, HMAC-SHA1): the parameters sorted
  by name, names and values percent-encoded (RFC 3986: only A-Z a-z 0-9 - _ . ~ stay as
  they are; a space is %20), joined into the canonicalized query; the string to sign is
  `METHOD&%2F&<that query, encoded again>`; the signature is base64(HMAC-SHA1(key =
  AccessKeySecret + "&", string to sign)). Aliyun sends only approved templates: the one
  configured (SMS_ALIYUN_TEMPLATE_CODE) takes the whole text as its `content` variable.
"""

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid

from django.conf import settings
from django.utils import timezone

from villagers.masking import mask_phone

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


class SmsError(Exception):
    """The provider did not take the message (or could not be reached)."""


class LogBackend:
    def send(self, *, phone: str, text: str) -> str:
        reference = uuid.uuid4().hex
        logger.info("SMS %s to %s: %r", reference, mask_phone(phone), text)  # one line each
        return reference


def percent_encode(value: str) -> str:
    """Aliyun's RPC encoding: RFC 3986 unreserved characters kept, everything else %XY of
    its UTF-8 bytes (a space is %20, `*` is %2A, `~` stays)."""
    return urllib.parse.quote(value, safe="-_.~")


def aliyun_signature(*, method: str, params: dict[str, str], secret: str) -> str:
    """The `Signature` of an Aliyun RPC request with `params` (Signature itself left out)."""
    canonical = "&".join(
        f"{percent_encode(name)}={percent_encode(params[name])}" for name in sorted(params)
    )
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunBackend:
    def __init__(self, config: dict[str, str]):
        self.config = config

    def request_params(self, *, phone: str, text: str) -> dict[str, str]:
        """Every parameter of one SendSms request, signed."""
        params = {
            "AccessKeyId": self.config["access_key_id"],
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": self.config["sign_name"],
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.config["template_code"],
            "TemplateParam": json.dumps({"content": text}, ensure_ascii=False),
            "Timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(
            method="POST", params=params, secret=self.config["access_key_secret"]
        )
        return params

    def send(self, *, phone: str, text: str) -> str:
        body = "&".join(
            f"{percent_encode(k)}={percent_encode(v)}"
            for k, v in self.request_params(phone=phone, text=text).items()
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the configured https endpoint
            self.config["endpoint"],
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        # Only what fails before the provider has the request is a failure (SmsError), tried
        # again later. Anything after it was sent (a timeout or a reset while waiting for the
        # answer, an answer cut short or unreadable) leaves the outcome unknown: it goes up
        # as it is, and the message stays "being sent", never sent twice (notifications.
        # sending).
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                # A gateway's failure (502, 504) after the request went out: the provider may
                # have taken it, so the outcome is unknown.
                raise
            # The provider's refusal, with its status: nothing was sent.
            raise SmsError(f"HTTP {error.code}: {error.read()[:150]!r}") from error
        except urllib.error.URLError as error:
            # urllib raises it while connecting or sending the request (refused, a name not
            # found, no route, a timeout before it was sent): the provider never had it.
            raise SmsError(f"{type(error).__name__}: {error.reason}") from error
        if answer.get("Code") != "OK":
            raise SmsError(f"{answer.get('Code')}: {answer.get('Message')}")
        return str(answer.get("BizId", ""))


def backend():
    """The configured provider (SMS_BACKEND)."""
    if settings.SMS_BACKEND == "aliyun":
        return AliyunBackend(settings.SMS_ALIYUN)
    if settings.SMS_BACKEND == "log":
        return LogBackend()
    raise ValueError(f"SMS_BACKEND={settings.SMS_BACKEND!r}: use 'log' or 'aliyun'")
