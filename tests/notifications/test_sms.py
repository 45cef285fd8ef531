"""The SMS adapter: Aliyun's request signing, and the log backend."""

import json
import logging

from django.test import override_settings

from notifications import sms
from tests.notifications.provider import Provider, expected_signature


def test_the_signature_matches_aliyuns_documented_example():
    """The worked example of Aliyun's SMS documentation (SendSms, GET, secret testSecret)."""
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
    }  # fmt: skip
    assert sms.aliyun_signature(method="GET", params=params, secret="testSecret") == (
        "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    )
    assert expected_signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_percent_encoding_follows_rfc_3986_as_aliyun_asks():
    assert sms.percent_encode("a b*c~d-_.") == "a%20b%2Ac~d-_."
    assert sms.percent_encode("+/=:") == "%2B%2F%3D%3A"
    assert sms.percent_encode("余额") == "%E4%BD%99%E9%A2%9D"


def test_a_message_with_spaces_stars_and_chinese_is_signed_right_and_answered(settings):
    with Provider() as provider:
        backend = sms.AliyunBackend({**settings.SMS_ALIYUN, **provider.aliyun_settings()})
        text = "啊道村爱心超市：+5 分 (庭院*整洁) ~ 余额 105。"
        assert backend.send(phone="13912345678", text=text) == "biz-1"
    (request,) = provider.accepted
    assert json.loads(request["TemplateParam"]) == {"content": text}
    assert request["PhoneNumbers"] == "13912345678" and provider.refused == []


def test_a_refusal_or_an_unreachable_provider_is_an_sms_error(settings):
    with Provider(fail_first=1) as provider:
        backend = sms.AliyunBackend(provider.aliyun_settings())
        try:
            backend.send(phone="13912345678", text="x")
        except sms.SmsError as error:
            assert "isp.SYSTEM_ERROR" in str(error)
        else:
            raise AssertionError("the failure was not reported")
        wrong = sms.AliyunBackend({**provider.aliyun_settings(), "access_key_secret": "not-it"})
        try:
            wrong.send(phone="13912345678", text="x")
        except sms.SmsError as error:
            assert "SignatureDoesNotMatch" in str(error)
        else:
            raise AssertionError("a wrong signature was accepted")
    gone = sms.AliyunBackend({**provider.aliyun_settings()})
    try:
        gone.send(phone="13912345678", text="x")
    except sms.SmsError as error:
        assert "Error" in str(error)
    else:
        raise AssertionError("an unreachable provider was not reported")


def test_the_log_backend_is_the_default_and_masks_the_phone(caplog):
    assert isinstance(sms.backend(), sms.LogBackend)
    with caplog.at_level(logging.INFO, logger="notifications.sms"):
        sms.backend().send(phone="13912345678", text="余额 105")
    assert "139****5678" in caplog.text and "13912345678" not in caplog.text
    # A line break typed into a rule or an item name cannot forge a second log line.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="notifications.sms"):
        sms.backend().send(phone="13912345678", text="毛巾\nSMS 0 to 138****0000: forged")
    assert len(caplog.records) == 1 and "\n" not in caplog.records[0].getMessage()
    with override_settings(SMS_BACKEND="aliyun"):
        assert isinstance(sms.backend(), sms.AliyunBackend)
