"""Every detail the code writes to the audit log reads as its action's sentence: none falls
back to its raw English keys ("household: 12", "audio: audio/webm")."""

import ast
import re

from django.utils.html import format_html

from core.models import AuditEvent
from reports.audit_labels import ACTIONS, sentence
from tests.reports.test_audit_log import _strings, audit_writer_calls
from tests.security.actions import perform_every_action
from tests.security.conftest import _english, _media_in_tmp, cast  # noqa: F401

# One detail (or more, for a writer of several shapes) of each action the code writes with a
# detail, holding every key it writes: a new key makes the walk below fail until it is here and
# its action's sentence reads it.
EXAMPLES: dict[str, list[dict]] = {
    "login.failed": [
        {"card": "X00012345"},
        {"username": "someone"},
        {"card": "X00012345", "pin_set_by_staff": True},
        # Past an address's number a minute (core.audit.refusal_to_record).
        {"username": "139****5678", "refused": 32},
    ],
    "village.create": [{"changed": {"name": [None, "X村"]}}],
    "village.update": [{"changed": {"publicity_days": ["7", "5"]}}],
    "staff.create": [
        {"roles_given": ["Manager"], "village": [None, "X村"], "password": True},
        {"roles_taken": [], "household_before": None, "household": 3, "password": False},
        # One writer makes both (villagers.admin): the add page has no permissions field.
        {"permissions": [[], ["store | donor | Can view donor"]], "password": True},
    ],
    "staff.update": [
        {
            "roles_given": ["Supervisor"],
            "roles_taken": ["Manager"],
            "township": ["A镇", "B镇"],
            "county": ["A县", None],
            "household_before": None,
            "household": 3,
            "is_staff": True,
            "is_active": False,
            "is_superuser": False,
            "password": False,
        },
        {
            "username": ["wang", "139****5678"],
            "display_name": ["王", "王组长"],
            "first_name": [None, "组长"],
            "last_name": [None, "王"],
            "email": [None, "wang@example.cn"],
            "permissions": [[], ["store | donor | Can view donor"]],
        },
    ],
    "staff.password": [{"password": True}],
    "referral.open": [{"kind": "points_ceiling", "object": 4, "asked": {"points": 50}}],
    "referral.update": [{"kind": "points_ceiling", "object": 4, "asked": {"points": 60}}],
    "referral.refuse": [{"reason": "不合规"}],
    "inspection.record": [{"passed": True}],
    "inspection.round": [{"group": 2, "inspected": 10, "passed": 8, "batch": 5}],
    "card.replace": [{"old_card": "X00012345", "reason": "丢失", "members_kept": False}],
    "card.printed": [{"cards": ["X00012345", "X00012346"]}],
    "card.recall": [{"reason": "搬走"}],
    "member.pin_set": [{"household": 3, "reset": True}],
    "member.pin_revoke": [{"household": 3}],
    "member.leave": [{"household": 3, "on": "2026-11-30", "why": "married_away"}],
    "member.return": [{"household": 3, "on": "2026-11-30", "why": "died"}],
    "roster.import": [{"households": 40, "members": 120}],
    "activity.open": [{"title": "打扫", "rule": "R1", "points": 5}],
    "activity.checkin": [{"household": 3, "photo": True}],
    "activity.close": [{"checked_in": 8, "proposed": 8, "batch": 6, "at_day_end": True}],
    "carryover.import": [{"households": 40, "paper_total": 900, "file_total": 900, "carried": 900}],
    "rule.create": [{"code": "R1", "points": 5, "active": True}],
    "rule.update": [{"code": "R1", "points": -5, "active": False}],
    "proposal.create": [{"proposals": [1, 2], "rule": "R1", "points": 5, "reason": "打扫"}],
    "proposal.approve": [
        {"entry": 7, "points": 5},
        {"points": 5, "credit_due_at": "2025-03-08T00:00:00+08:00"},
    ],
    "proposal.reject": [{"reason": "重复"}],
    "proposal.hold": [{"points": -5, "why": "有异议"}],
    "proposal.credit": [{"entry": 7, "points": 5}],
    "proposal.cancel": [{"reason": "重复"}],
    "objection.raise": [{"proposal": 1, "reason": "不对"}],
    "objection.uphold": [{"proposal": 1, "resolution": "改正"}],
    "objection.dismiss": [{"proposal": 1, "resolution": "属实"}],
    "entry.reverse": [{"reverses": 7, "points": -5, "reason": "记错"}],
    "declaration.accept": [{"proposal": 1}],
    "declaration.decline": [{"reason": "没有照片"}],
    "settlement.draft": [{"year": 2024, "keep": 100}],
    "settlement.approve": [{"year": 2024, "lines": 40}],
    "settlement.post": [{"year": 2024, "entries": 40, "points": -900}],
    "settlement.close": [{"year": 2024, "why": "yearly settlement off"}],
    "announcement.post": [
        {"photo": True, "audio": "audio/webm"},
        {"photo": False, "audio": None},
        {"photo": True, "audio": None},
        {"photo": False, "audio": "audio/ogg"},
    ],
    "household.sms": [{"sms": True}],
    "item.create": [{"name": "大米", "points_price": 20}],
    "item.update": [{"name": "大米", "points_price": 25}],
    "donor.create": [{"name": "张三", "kind": "person"}, {"changed": {"name": [None, "张三"]}}],
    # A back-office save (core.admin.AuditedMixin) and delete (AuditedDeletesMixin).
    "donor.update": [{"changed": {"contact": ["", "138"]}}],
    "donor.delete": [{"name": "张三"}],
    "villagegroup.update": [{"changed": {"name": ["一组", "二组"]}}],
    "role.update": [{"changed": {"permissions": [[], ["store | donor | Can view donor"]]}}],
    "staff.delete": [{"name": "someone"}],
    "signin_record.cleanup": [{"deleted": 3}],
    "stock.purchase": [{"item": 1, "quantity": 10, "fund": "village", "paid_by": 2}],
    # One statement writes both; only a write-off's detail carries its cause (its sentence).
    "stock.take": [{"item": 1, "quantity": -1, "correction": 3, "asked_by": 4, "cause": ""}],
    "stock.write_off": [
        {"item": 1, "quantity": -1, "cause": "damaged", "correction": 3, "asked_by": 4}
    ],
    "stock.count": [
        {"items": 5, "differences": {"1": -1}, "corrections": [3], "replaced": []},
        {"items": 2, "differences": {}, "corrections": [], "replaced": [], "left": [4, 5]},
    ],
    "stock.write_off_request": [{"item": 1, "quantity": 2, "cause": "spoiled"}],
    "stock.correction_refuse": [{"reason": "数错"}],
    "stock.count_shortfall": [{"item": 1, "quantity": 2, "replaced": 3}],
    "donation.record": [{"donor": "张三", "kind": "cash", "value": "100.00"}],
    "donation.correct": [
        {"reason": "写错", "changed": {"value": ["100", "200"]}, "thanks_link_version": 2}
    ],
    "donation.thanks_revoke": [{"version": 2}],
    "redemption.create": [{"household": 3, "points": 20, "entry": 7, "collected_by": 5}],
    "redemption.void": [{"reason": "拿错", "reversal": 8}],
    "redemption.void_ask": [{"reason": "拿错"}],
    "reservation.create": [{"household": 3, "points": 20, "lines": [[1, 2]]}],
    "reservation.cancelled": [{"household": 3, "points": 20}],
    "reservation.expired": [{"household": 3, "points": 20}],
    "reservation.fulfilled": [{"redemption": 9, "points": 20}],
    "wish.post": [{"on_behalf": True, "kind": "goods"}],
    "wish.approve": [{"hide_household": True}],
    "wish.edit": [{"fields": ["title"], "hide_household": False, "reason": "错字"}],
    "wish.revise": [{"fields": ["title", "story"]}],
    "wish.withdraw": [{"was_on_wall": True}],
    "wish.match": [{"donor_id": 2, "donor": "张三"}],
    "wish.fulfil": [{"donor_id": 2, "given": "一辆轮椅"}],
    "wish.decline": [{"from": "approved", "reason": "做不到"}],
    "export.start": [
        {"kind": "year_report", "year": 2024, "language": "zh-hans"},
        {"kind": "township", "month": "2025-03", "sort": "name", "township": 1, "language": "en"},
    ],
    "notice.publish": [{"month": "2025-03"}],
    "notice.countersign": [{"month": "2025-03"}],
    "api.call": [{"path": "/api/v1/households/", "query": "page=2"}],
    "api.refused": [
        {"path": "/api/v1/households/", "query": ""},
        {"path": "/api/v1/overview", "query": "", "key": "Ab3x", "refused": 64},
        {"path": "/api/v1/overview", "query": "", "revoked": "Ab3xYz12"},
        {"path": "/api/v1/overview", "query": "", "not_a_key": True},
    ],
    "api_token.create": [{"name": "县平台", "scope": "X村", "prefix": "ab12"}],
    "api_token.revoke": [{"prefix": "ab12"}],
}


def _show(kind, pk):
    return format_html('<a href="/{}/{}/">{}</a>', kind, pk, pk)


def _assigned_keys(function, name: str) -> set[str]:
    """The dict keys a local name is given in its function: `name = {...}`, `name["key"] = ...`
    (`name = {**name, ...}` adds to what it was given)."""
    function = (function[0], function[1] | {name})
    keys = set()
    for node in ast.walk(function[0]):
        for target in node.targets if isinstance(node, ast.Assign) else []:
            if isinstance(target, ast.Name) and target.id == name:
                keys |= _keys(node.value, function)
            elif (
                isinstance(target, ast.Subscript)
                and getattr(target.value, "id", None) == name
                and isinstance(target.slice, ast.Constant)
            ):
                keys.add(target.slice.value)
    return keys


def _keys(node, function: tuple[ast.FunctionDef, set[str]]) -> set[str]:
    """The constant keys a `detail=` expression writes: of a dict (and what it unpacks), both
    sides of `|` or `or` and of a conditional, a list's or a comprehension's dicts, a local
    name's (`function`: where it is, and the names being read)."""
    if isinstance(node, ast.Dict):
        keys = set()
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                keys |= _keys(value, function)
            elif isinstance(key, ast.Constant):
                keys.add(key.value)
        return keys
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _keys(node.left, function) | _keys(node.right, function)
    if isinstance(node, ast.IfExp):
        return _keys(node.body, function) | _keys(node.orelse, function)
    if isinstance(node, ast.BoolOp | ast.List):
        parts = node.values if isinstance(node, ast.BoolOp) else node.elts
        return set().union(*(_keys(part, function) for part in parts))
    if isinstance(node, ast.ListComp):
        return _keys(node.elt, function)
    if isinstance(node, ast.Name) and node.id not in function[1]:
        return _assigned_keys(function, node.id)
    return set()


def _writer_calls():
    """(the `action=` expression, the detail keys, where) of every audit writer call."""
    for function, node, where in audit_writer_calls():
        given = {keyword.arg: keyword.value for keyword in node.keywords}
        detail = given.get("detail", given.get("details"))
        keys = _keys(detail, (function, set())) if detail is not None else set()
        yield given.get("action"), keys, where


def written_detail_keys() -> dict[str, tuple[set[str], str]]:
    """{action code: (the detail keys its writers write, where)}, read from the source. A
    "{verb}" code stands for its create and update codes; an f-string code for the labelled
    codes of its prefix that no literal writes (f"reservation.{status}": the closings)."""
    found: dict[str, tuple[set[str], str]] = {}
    patterns = []
    for action, keys, where in _writer_calls():
        if isinstance(action, ast.JoinedStr) and isinstance(action.values[0], ast.Constant):
            patterns.append((action.values[0].value, keys, where))
        for written in _strings(action):
            for code in {written.replace("{verb}", verb) for verb in ("create", "update")}:
                found[code] = (found.get(code, (set(),))[0] | keys, where)
    for prefix, keys, where in patterns:
        for code in ACTIONS:
            if code.startswith(prefix) and code not in found:
                found[code] = (keys, where)
    return found


def test_every_detail_key_the_code_writes_is_read_by_its_actions_sentence():
    written = written_detail_keys()
    # The walk really reads the writers, their local dicts and f-string codes.
    assert written["member.pin_revoke"][0] == {"household"}
    assert written["login.failed"][0] == {"card", "username", "pin_set_by_staff"}
    assert {"roles_given", "household_before", "password"} <= written["staff.update"][0]
    assert written["reservation.expired"][0] == {"household", "points"}
    assert {"kind", "language"} <= written["export.start"][0]

    missing = {
        code: (sorted(keys - set().union(*(EXAMPLES.get(code) or [{}]))), where)
        for code, (keys, where) in written.items()
        if keys - set().union(*(EXAMPLES.get(code) or [{}]))
    }
    assert not missing, (
        "give these detail keys a sentence in reports/audit_labels.py, then an example "
        f"here: {missing}"
    )


def test_every_example_reads_as_its_actions_sentence():
    for code, details in EXAMPLES.items():
        assert code in ACTIONS, code
        for detail in details:
            said = sentence(code, detail, _show)
            assert said is not None, f"{code}: {detail} falls back to its raw keys"


def test_no_event_the_pages_write_falls_back_to_its_keys(cast):  # noqa: F811
    perform_every_action(cast)
    events = AuditEvent.objects.exclude(detail={}).values_list("action", "detail")
    assert len(events) > 10
    raw = [(code, detail) for code, detail in events if sentence(code, detail, _show) is None]
    assert not raw, f"details shown as raw keys: {raw}"


def test_an_announcement_and_a_members_pin_read_as_sentences():
    said = str(sentence("announcement.post", {"photo": True, "audio": "audio/webm"}, _show))
    assert said == "With a photo and a voice recording."
    said = str(sentence("member.pin_revoke", {"household": 3}, _show))
    assert re.fullmatch(r"Their own PIN on the card of <a [^>]+>3</a> stopped working\.", said)
    said = str(sentence("member.leave", {"household": 3, "on": "2026-11-30", "why": "died"}, _show))
    assert re.fullmatch(r"Left <a [^>]+>3</a> on 2026-11-30: died\.", said)


def test_an_overview_export_names_its_month_and_a_year_report_its_year():
    overview = {"kind": "county", "month": "2025-03", "sort": "name", "language": "zh-hans"}
    assert "2025-03" in str(sentence("export.start", overview, _show))
    year_report = {"kind": "year", "year": 2024, "language": "zh-hans"}
    assert "2024" in str(sentence("export.start", year_report, _show))
