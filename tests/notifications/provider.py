"""A local HTTP server playing Aliyun SMS (dysmsapi SendSms) for the tests.

It checks each request as Aliyun would: every parameter present, the timestamp fresh, and
the signature recomputed here from the secret, independently of notifications/sms.py,
following Aliyun's documentation (RPC signature, HMAC-SHA1). It can be told to fail the
first requests, and records every request it accepted or refused.
"""

import base64
import datetime
import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote

ACCESS_KEY_ID = "LTAI-test-key"
SECRET = "test-secret/+=~*"  # characters the encoding must get right

REQUIRED = {
    "AccessKeyId", "Action", "Format", "PhoneNumbers", "RegionId", "SignName",
    "SignatureMethod", "SignatureNonce", "SignatureVersion", "TemplateCode",
    "TemplateParam", "Timestamp", "Version", "Signature",
}  # fmt: skip


def expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Aliyun's documented algorithm, written out again for the server's side."""

    def encode(value: str) -> str:
        # Java's URLEncoder, then "+" -> %20, "*" -> %2A, "%7E" -> "~" (the documented recipe)
        encoded = quote(value, safe="").replace("+", "%20").replace("*", "%2A")
        return encoded.replace("%7E", "~")

    query = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = method + "&" + encode("/") + "&" + encode(query)
    key = (secret + "&").encode("utf-8")
    return base64.b64encode(
        hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    ).decode()


class Provider:
    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.cut_short_first = 0  # accept, then close the answer before its end
        self.accepted: list[dict] = []
        self.refused: list[tuple[str, dict]] = []
        self.failed: list[dict] = []
        self.nonces: set[str] = set()
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                params = dict(parse_qsl(body, keep_blank_values=True, strict_parsing=True))
                status, answer = provider.answer(params)
                data = json.dumps(answer).encode()
                with provider.lock:
                    cut = provider.cut_short_first > 0 and status == 200
                    provider.cut_short_first -= cut
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) + (100 if cut else 0)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # shutdown() waits for the serving loop to look up from its select(): every half
        # second by default, half a second at the end of each test that used the provider.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def environment(self) -> dict[str, str]:
        return {
            "SMS_BACKEND": "aliyun",
            "SMS_ALIYUN_ENDPOINT": self.url,
            "SMS_ALIYUN_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "SMS_ALIYUN_ACCESS_KEY_SECRET": SECRET,
            "SMS_ALIYUN_SIGN_NAME": "爱心超市",
            "SMS_ALIYUN_TEMPLATE_CODE": "SMS_000001",
        }

    def aliyun_settings(self) -> dict[str, str]:
        """settings.SMS_ALIYUN pointing at this provider, as `environment` gives it to a
        process (aidao/settings.py reads those variables into it)."""
        env = self.environment()
        return {
            "endpoint": env["SMS_ALIYUN_ENDPOINT"],
            "access_key_id": env["SMS_ALIYUN_ACCESS_KEY_ID"],
            "access_key_secret": env["SMS_ALIYUN_ACCESS_KEY_SECRET"],
            "sign_name": env["SMS_ALIYUN_SIGN_NAME"],
            "template_code": env["SMS_ALIYUN_TEMPLATE_CODE"],
        }

    def answer(self, params: dict[str, str]) -> tuple[int, dict]:
        with self.lock:
            problem = self.problem(params)
            if problem:
                self.refused.append((problem, params))
                return 400, {"Code": problem, "Message": problem}
            self.nonces.add(params["SignatureNonce"])
            if not re.fullmatch(r"(\+86|0086|86)?1[3-9][0-9]{9}", params["PhoneNumbers"]):
                # As Aliyun answers a landline or a malformed number, every time.
                self.failed.append(params)
                return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
            if self.fail_first > 0:
                self.fail_first -= 1
                self.failed.append(params)
                return 200, {"Code": "isp.SYSTEM_ERROR", "Message": "try again"}
            self.accepted.append(params)
            return 200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.accepted)}"}

    def problem(self, params: dict[str, str]) -> str:
        if set(params) != REQUIRED:
            return f"MissingOrExtra:{sorted(set(params) ^ REQUIRED)}"
        unsigned = {k: v for k, v in params.items() if k != "Signature"}
        if params["Signature"] != expected_signature("POST", unsigned, SECRET):
            return "SignatureDoesNotMatch"
        if params["AccessKeyId"] != ACCESS_KEY_ID or params["Action"] != "SendSms":
            return "InvalidAccessKeyId"
        sent = datetime.datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        if abs((now - sent).total_seconds()) > 900:
            return "InvalidTimeStamp.Expired"
        if params["SignatureNonce"] in self.nonces:
            return "SignatureNonceUsed"
        return ""

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
