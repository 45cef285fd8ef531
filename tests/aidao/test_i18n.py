"""The UI speaks Simplified Chinese by default and English on request; the catalogue is whole."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
SCRIPT = ROOT / "scripts" / "check_translations.py"


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_translations", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


@pytest.fixture(autouse=True)
def chinese():
    """Whatever another test activated, these start from the site's default language."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


def _switch_to_english(client, next_url="/"):
    response = client.post(reverse("set_language"), {"language": "en", "next": next_url})
    assert response.status_code == 302
    return response


def test_default_language_is_simplified_chinese():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _name in settings.LANGUAGES] == ["zh-hans", "en"]


def test_login_page_in_chinese_by_default(client_anon):
    text = client_anon.get(reverse("login")).text
    assert '<html lang="zh-hans">' in text
    assert "工作人员登录" in text and "村民请用积分卡登录" in text
    assert "Staff sign in" not in text and "sign in with your points card" not in text
    # The language switch names each language in its own words.
    assert ">简体中文</option>" in text and ">English</option>" in text


def test_card_login_page_in_chinese(client_anon):
    text = client_anon.get(reverse("card_login")).text
    assert "用积分卡登录" in text and "积分卡号" in text and "密码" in text
    assert "Card number" not in text


def test_villager_home_in_chinese(client_villager_a, card_a):
    response = client_villager_a.get("/", follow=True)
    text = response.text
    assert response.status_code == 200
    assert "我的积分" in text and "积分" in text and "申报好人好事" in text
    assert "不兑换现金" in text  # the never-paid-in-cash line, translated with its figure
    assert "My points" not in text and "Declare a good deed" not in text
    assert "never paid in cash" not in text


def test_switching_to_english_renders_english(client_villager_a, card_a):
    _switch_to_english(client_villager_a, reverse("points:me"))
    text = client_villager_a.get(reverse("points:me")).text
    assert '<html lang="en">' in text
    assert "My points" in text and "Declare a good deed" in text
    assert "我的积分" not in text and "申报好人好事" not in text
    assert '<option value="en" selected>English</option>' in text


def test_switching_back_to_chinese(client_anon):
    _switch_to_english(client_anon)
    assert "Staff sign in" in client_anon.get(reverse("login")).text
    client_anon.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "工作人员登录" in client_anon.get(reverse("login")).text


def test_browser_language_is_honoured_without_a_choice(db):
    client = Client(headers={"accept-language": "en-GB,en;q=0.9"})
    assert "Staff sign in" in client.get(reverse("login")).text


def test_staff_pages_and_messages_in_chinese(client_manager_x, household_a):
    text = client_manager_x.get(reverse("reports:household_list")).text
    assert "登记农户" in text and "导入花名册" in text and "兑换台" in text
    assert "Register a household" not in text


def test_roster_columns_keep_their_english_header_in_chinese(client_manager_x):
    """The English header is what to type, so it is not translated into a second Chinese one."""
    text = client_manager_x.get(reverse("villagers:roster_upload")).text
    assert "导入农户花名册" in text
    assert "户号 (household number)" in text and "姓名 (name)" in text


def test_model_choices_translated():
    from points.models import Entry
    from store.models import Redemption

    assert str(Entry.Kind.REVERSAL.label) == "冲正"
    assert str(Redemption._meta.verbose_name) == "兑换"


def test_admin_header_in_chinese_and_english(client_manager_x):
    text = client_manager_x.get(reverse("admin:index")).text
    assert "爱心超市后台管理" in text and "愛心超市" not in text
    _switch_to_english(client_manager_x, reverse("admin:index"))
    assert "Love Supermarket back office" in client_manager_x.get(reverse("admin:index")).text


def test_wish_wall_heading_has_no_traditional_gloss_in_chinese(client_villager_a):
    text = client_villager_a.get(reverse("wishwall:wall")).text
    assert "心愿墙" in text and "心願牆" not in text
    _switch_to_english(client_villager_a, reverse("wishwall:wall"))
    assert "Wish wall" in client_villager_a.get(reverse("wishwall:wall")).text


# The catalogue itself.


def test_catalogue_has_no_problems():
    """Every msgid translated, none fuzzy, placeholders kept, the .mo compiled from this .po."""
    assert checker.problems(PO) == []


# One thing, one name: the second word of each pair was found beside the first (the notice's
# legend said 开卡积分 and 撤销的奖励 under rows named 新卡基础积分 and 加分冲正).
ONE_NAME = {
    "预约": "预订",  # a reservation
    "您户": "您家",  # the household spoken to
    "你": "您",  # villagers are addressed politely
    "公告": "通知",  # a village announcement (公示 is the public notice)
    "开卡积分": "基础积分",  # a new card's opening points
    "奖励": "加分",  # an award
    "撤销该密码": "作废该密码",  # a member's PIN taken back, as its page's button says
}


def test_the_catalogue_calls_each_thing_by_one_name():
    po = polib.pofile(str(PO))
    found = [
        f"{entry.msgid[:60]!r}: {other} (say {usual})"
        for entry in po
        if not entry.obsolete
        for other, usual in ONE_NAME.items()
        if any(other in text for text in [entry.msgstr, *entry.msgstr_plural.values()])
    ]
    assert not found, "\n".join(found)


def test_every_entry_translated_with_the_same_placeholders():
    po = polib.pofile(str(PO))
    entries = [entry for entry in po if not entry.obsolete]
    assert len(entries) > 900
    for entry in entries:
        assert "fuzzy" not in entry.flags, entry.msgid
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        assert texts and all(text.strip() for text in texts), entry.msgid
        expected = checker.placeholders(entry.msgid_plural or entry.msgid)
        for text in texts:
            assert checker.placeholders(text) == expected, entry.msgid


def test_compiled_catalogue_is_used():
    with translation.override("zh-hans"):
        assert translation.gettext("Love Supermarket") == "爱心超市"
        assert (
            translation.ngettext("%(counter)s household", "%(counter)s households", 3)
            % {"counter": 3}
            == "共 3 户"
        )
    with translation.override("en"):
        assert translation.gettext("Love Supermarket") == "Love Supermarket"


def test_placeholder_parser():
    assert checker.placeholders("%(points)+d of %(cap)d") == ["%(cap)d", "%(points)+d"]
    assert checker.placeholders("%d of %s, 100%%") == ["%d", "%s"]
    assert checker.placeholders("{name} {{literal}}") == ["{name}"]


BAD_PO = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Language: zh_Hans\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

msgid "Fine"
msgstr "好"

msgid "New text from another page"
msgstr ""

#, fuzzy
msgid "Guessed by msgmerge"
msgstr "猜的"

#, python-format
msgid "Card %(number)s issued"
msgstr "积分卡 %(numbr)s 已发放"

msgid "<strong>%(donor)s</strong> gave"
msgstr "%(donor)s 送上"

msgid "Wish wall"
msgstr "心願牆"

msgid "Points rules (積分管理細則)"
msgstr "积分管理细则"

#, python-format
msgid "%(counter)s household"
msgid_plural "%(counter)s households"
msgstr[0] ""
"""


def test_checker_lists_each_kind_of_problem_and_exits_non_zero(tmp_path):
    po_path = tmp_path / "zh_Hans" / "LC_MESSAGES" / "django.po"
    po_path.parent.mkdir(parents=True)
    po_path.write_text(BAD_PO, encoding="utf-8")
    found = "\n".join(checker.problems(po_path))
    assert "untranslated: 'New text from another page'" in found
    assert "fuzzy" in found and "Guessed by msgmerge" in found
    assert "placeholders ['%(numbr)s'] differ" in found
    assert "HTML tags" in found
    assert "Traditional characters 牆願: 'Wish wall'" in found
    gloss = "Traditional characters 則積細 in the English text: 'Points rules (積分管理細則)'"
    assert gloss in found
    assert "untranslated: '%(counter)s household'" in found
    assert "'Fine'" not in found

    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(po_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "New text from another page" in result.stdout


def test_checker_refuses_a_stale_mo(tmp_path):
    po = polib.pofile(str(PO))
    po_path = tmp_path / "django.po"
    po.save(str(po_path))
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    assert checker.problems(po_path) == []
    po.translated_entries()[0].msgstr = "改过了"
    po.save(str(po_path))  # the .po changed, the .mo was not compiled again
    assert checker.problems(po_path) == ["django.mo does not match django.po; run compilemessages"]


def test_checker_passes_on_the_real_catalogue():
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout
