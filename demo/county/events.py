"""What each event of the history does to the ledger and the shelves, as the services would.

A deduction or a cart the balance cannot cover is refused, a line the shelf cannot fill is cut;
every `balance_after` and `stock_after` is the running sum in id order.
"""

from decimal import Decimal

from demo.county.copyrows import NULL, ts
from store.services import cart_hash

REASONS = {
    "HJ01": "月度检查达标",
    "KF03": "厨房、厕所卫生不达标",
    "YW01": "参加义务打扫村道",
    "JT01": "参加村民大会",
    "HJ02": "院内种花，门前整洁",
    "CY03": "参加果树修剪培训",
    "YW02": "参加义务植树、修路",
    "DD01": "照顾患病老人",
    "DD02": "帮邻居抢收麦子",
    "KF01": "门前堆放柴草垃圾",
    "KF04": "焚烧秸秆",
    "KF05": "大操大办",
    "KF02": "经调解仍不赡养老母亲",
    "CY01": "新栽花椒三亩",
    "CY02": "办起农家乐，带动两人就业",
    "RY01": "年度“五好家庭”评选",
    "RY02": "年度“最美婆婆”评选",
    "RY03": "年度“好媳妇”评选",
}

# Funds of the generated purchases. Donated money is left out: a purchase paid from it must
# name the money donation that paid (audit_ledger checks it), which the generator does not.
FUNDS = ["poverty_bureau", "civil_affairs", "collective"]
VOID_REASON = "兑换登记有误，退回积分和商品"
REVERSAL_REASON = "记错户了，应为邻户"
# A proposal's publicity columns (credit_due_at, hold_reason, cancelled_at, cancel_reason):
# the generated villages credit on approval, with no publicity period (publicity_days = 0).
PUBLICITY_NONE = (NULL, "", NULL, "")
REJECTION_REASONS = ["没有照片，请补充证据后再报", "经核实不是该户所为", "超出本月上限"]


class EventHandlers:
    """Mixed into History, which holds the tables, balances, stock and the event queue."""

    def _post(self, account_id, kind, points, when, actor_id, memo, reverses=None) -> int:
        self.balance[account_id] += points
        return self.entries.add(
            account_id,
            kind,
            points,
            self.balance[account_id],
            when,
            actor_id,
            memo[:200],
            reverses if reverses is not None else NULL,
        )

    def _move(self, plan, item_id, kind, quantity, when, actor_id, **fields) -> int:
        self.stock[item_id] += quantity
        return self.movements.add(
            plan.village_id,
            item_id,
            kind,
            quantity,
            self.stock[item_id],
            fields.get("fund_source", ""),
            fields.get("cost_yuan", NULL),
            fields.get("cause", ""),
            fields.get("reason", ""),
            fields.get("donation_id", NULL),
            fields.get("redemption_id", NULL),
            when,
            actor_id,
        )

    def _opening(self, account_id, plan, number):
        when = plan.card_issued[account_id][0]
        self._post(
            account_id,
            "opening",
            100,
            when,
            plan.manager_id,
            self.opening_memo % {"number": number},
        )

    def _proposal_row(
        self,
        plan,
        household_id,
        code,
        day,
        batch_id,
        member_id,
        proposed,
        decided,
        status,
        rejection="",
        entry_id=NULL,
    ):
        """One proposal row; a pending one (decided is NULL) has no decider yet."""
        rule_id, points = plan.rules[code]
        self.proposals.add(
            plan.village_id,
            household_id,
            rule_id,
            batch_id or NULL,
            points,
            "",
            REASONS[code],
            day,
            member_id or NULL,
            "",
            status,
            plan.manager_id,
            proposed,
            NULL if decided is NULL else plan.supervisor_id,
            decided,
            rejection,
            entry_id,
            *PUBLICITY_NONE,
        )

    def _rejection(
        self, plan, household_id, account_id, code, day, batch_id, member_id, proposed, decided
    ):
        why = REJECTION_REASONS[(household_id + day.day) % len(REJECTION_REASONS)]
        self._proposal_row(
            plan, household_id, code, day, batch_id, member_id, proposed, decided, "rejected", why
        )

    def _approval(
        self,
        plan,
        household_id,
        account_id,
        code,
        day,
        batch_id,
        member_id,
        proposed,
        decided,
        reversal_at,
    ):
        points = plan.rules[code][1]
        if self.balance[account_id] + points < 0:
            # entry_post would refuse the deduction, so the supervisor rejects it instead.
            self._proposal_row(
                plan,
                household_id,
                code,
                day,
                batch_id,
                member_id,
                proposed,
                decided,
                "rejected",
                "余额不足，无法扣分",
            )
            return
        kind = "award" if points > 0 else "deduction"
        entry_id = self._post(
            account_id, kind, points, decided, plan.supervisor_id, f"{code} {REASONS[code]}"
        )
        self._proposal_row(
            plan,
            household_id,
            code,
            day,
            batch_id,
            member_id,
            proposed,
            decided,
            "approved",
            "",
            entry_id,
        )
        if reversal_at is not None:
            self._later(
                reversal_at, self._reversal, plan, account_id, entry_id, points, reversal_at
            )

    def _reversal(self, plan, account_id, entry_id, points, when):
        if self.balance[account_id] - points >= 0:
            self._post(
                account_id,
                "reversal",
                -points,
                when,
                plan.supervisor_id,
                REVERSAL_REASON,
                reverses=entry_id,
            )

    def _redemption(
        self, plan, household_id, account_id, wanted, budget, key, voided, day, hour, minute
    ):
        left = min(budget, self.balance[account_id])
        cart = {}
        for (item_id, price, _cost, _base), quantity in wanted:
            quantity = min(quantity, self.stock[item_id], left // price)
            if quantity > 0:
                cart[item_id] = (quantity, price)
                left -= quantity * price
        if not cart:
            return  # nothing this household can take today
        when = ts(day, hour, minute, self.offset)
        total = sum(quantity * price for quantity, price in cart.values())
        entry_id = self._post(
            account_id, "redemption", -total, when, plan.manager_id, self.redemption_memo
        )
        lines = {item_id: quantity for item_id, (quantity, _price) in cart.items()}
        digest = cart_hash(village_id=plan.village_id, household_id=household_id, lines=lines)
        redemption_id = self.redemptions.add(
            plan.village_id,
            household_id,
            entry_id,
            total,
            key,
            digest,
            when,
            plan.manager_id,
            NULL,
            NULL,
            "",
            NULL,
        )
        row = self.redemptions.rows[-1]
        for item_id in sorted(cart):
            quantity, price = cart[item_id]
            self.lines.add(
                redemption_id, item_id, plan.item_zones[item_id], quantity, price, quantity * price
            )
            self._move(
                plan,
                item_id,
                "redemption",
                -quantity,
                when,
                plan.manager_id,
                redemption_id=redemption_id,
            )
            self.sold[item_id] += quantity
        if voided:
            later = ts(day, hour + 1, minute, self.offset)
            self._later(later, self._void, plan, account_id, entry_id, total, row, cart, later)

    def _void(self, plan, account_id, entry_id, total, row, cart, when):
        reversal_id = self._post(
            account_id, "reversal", total, when, plan.supervisor_id, VOID_REASON, reverses=entry_id
        )
        redemption_id = row[0]
        for item_id in sorted(cart):
            self._move(
                plan,
                item_id,
                "void",
                cart[item_id][0],
                when,
                plan.supervisor_id,
                redemption_id=redemption_id,
                reason=VOID_REASON,
            )
        row[9:13] = [when, plan.supervisor_id, VOID_REASON, reversal_id]

    def _restock(self, plan, first):
        """First of the month: bring each item up to what last month's trade suggests."""
        when = ts(first, 8, 0, self.offset)
        for index, (item_id, _price, cost, base) in enumerate(plan.items):
            target = max(base, self.sold[item_id] * 13 // 10 + base // 2)
            quantity = target - self.stock[item_id]
            if quantity > 0:
                self._move(
                    plan,
                    item_id,
                    "purchase",
                    quantity,
                    when,
                    plan.manager_id,
                    fund_source=FUNDS[(index + first.month) % len(FUNDS)],
                    cost_yuan=Decimal(cost) * quantity,
                    reason="月初补货",
                )

    def _donation(self, plan, day, money_donor, amount, goods_donor, goods):
        when = ts(day, 10, 0, self.offset)
        self.donations.add(
            plan.village_id,
            money_donor,
            "money",
            day,
            amount,
            "爱心捐款",
            "感谢您对爱心超市的支持！",
            1,  # the first thanks link version
            when,
            plan.manager_id,
        )
        value = sum(Decimal(cost) * quantity for (_i, _p, cost, _b), quantity in goods)
        donation_id = self.donations.add(
            plan.village_id,
            goods_donor,
            "goods",
            day,
            value,
            "爱心物资",
            "感谢您为村民送温暖！",
            1,  # the first thanks link version
            when,
            plan.manager_id,
        )
        for (item_id, *_rest), quantity in sorted(goods):
            self._move(
                plan, item_id, "donation", quantity, when, plan.manager_id, donation_id=donation_id
            )

    def _write_off(self, plan, item, quantity, cause, when):
        item_id = item[0]
        if self.stock[item_id] >= quantity:
            self._move(
                plan,
                item_id,
                "write_off",
                -quantity,
                when,
                plan.manager_id,
                cause=cause,
                reason="受潮发霉" if cause == "spoiled" else "搬运破损",
            )
