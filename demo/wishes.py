"""Demo wishes for the demo village: every state, real-sounding donors, spread over months.

Wishes are written through the services (so moderation, matching and audit are real); only
the timestamps are moved back afterwards, so the wall reads like a year of use.
"""

import datetime

from django.utils import timezone

from store.models import Donor
from villagers.models import Household, User
from wishwall import services
from wishwall.models import Wish, WishFulfilment, WishMatch

DONORS = [
    ("宜川县顺达农资有限公司", Donor.Kind.COMPANY),
    ("延安红苹果果业合作社", Donor.Kind.COMPANY),
    ("陕西惠民医药连锁宜川店", Donor.Kind.COMPANY),
    ("西安爱心助学志愿者协会", Donor.Kind.COMPANY),
    ("宜川县扶贫开发局", Donor.Kind.GOVERNMENT),
    ("宜川县民政局", Donor.Kind.GOVERNMENT),
    ("刘建华（在西安务工的本村人）", Donor.Kind.PERSON),
    ("张慧敏（退休教师）", Donor.Kind.PERSON),
]

# (kind, what is wished for, why, what was given, words of thanks)
WISHES = [
    (
        "daily",
        "两床厚棉被",
        "家里老人冬天怕冷，旧被子已经盖了十几年。",
        "加厚棉被两床",
        "谢谢好心人，今年冬天老人睡得暖和了。",
    ),
    (
        "daily",
        "一个电饭锅",
        "家里的电饭锅坏了，现在做饭只能烧柴火灶。",
        "电饭锅一个",
        "饭做得又快又好，感谢你们的关心。",
    ),
    (
        "daily",
        "孩子冬天穿的棉衣",
        "孩子长得快，去年的棉衣已经穿不下了。",
        "儿童棉衣两件、棉鞋一双",
        "孩子穿上新棉衣高兴得不得了，谢谢叔叔阿姨。",
    ),
    (
        "daily",
        "一台洗衣机",
        "老伴手有风湿，冬天用凉水洗衣服很受罪。",
        "双桶洗衣机一台",
        "再也不用在冷水里搓衣服了，感谢！",
    ),
    (
        "study",
        "孙子上学用的书包和文具",
        "孙子今年上一年级，父母在外打工，家里拿不出钱。",
        "书包一个、文具一套",
        "孙子背着新书包去上学了，谢谢爱心人士。",
    ),
    (
        "study",
        "一台学习用的旧电脑",
        "女儿考上了县高中，查资料和上网课需要电脑。",
        "旧笔记本电脑一台",
        "我一定好好学习，不辜负大家的帮助。",
    ),
    (
        "study",
        "一辆上学骑的自行车",
        "孩子每天走五里山路去镇上上学，来回两个多小时。",
        "自行车一辆、头盔一个",
        "现在上学不到半小时，谢谢你们！",
    ),
    (
        "study",
        "课外书",
        "村里的孩子放学后没有书看，想要一些适合小学生的书。",
        "课外读物六十本",
        "孩子们有书看了，每天放学都来借书。",
    ),
    (
        "health",
        "一副老花镜",
        "眼睛花了，看不清药盒上的字，怕吃错药。",
        "老花镜两副",
        "戴上眼镜能看清字了，非常感谢。",
    ),
    (
        "health",
        "一台血压计",
        "老伴有高血压，医生让每天量血压。",
        "电子血压计一台",
        "每天都能量血压了，心里踏实多了。",
    ),
    (
        "health",
        "一辆轮椅",
        "父亲腿脚不便，出不了门，想推他出去晒晒太阳。",
        "轮椅一辆",
        "父亲又能到村口和老伙计们聊天了，谢谢。",
    ),
    (
        "health",
        "一个助听器",
        "母亲耳朵背，跟她说话要喊很大声。",
        "助听器一个",
        "母亲能听清我们说话了，全家都很感激。",
    ),
    (
        "farming",
        "苹果树苗五十株",
        "想把坡地改种苹果，增加家里收入。",
        "矮化苹果苗五十株",
        "树苗都栽上了，盼着早日挂果，谢谢合作社。",
    ),
    (
        "farming",
        "一台小型旋耕机",
        "家里劳力少，翻地太吃力，耽误农时。",
        "微耕机一台",
        "今年春耕快多了，感谢帮助。",
    ),
    (
        "farming",
        "一百只鸡苗",
        "想在院后养些土鸡，卖鸡蛋补贴家用。",
        "鸡苗一百只、饲料两袋",
        "鸡苗长得很好，谢谢你们给我们找到了门路。",
    ),
    (
        "farming",
        "地膜和化肥",
        "今年想多种两亩玉米，缺地膜和化肥。",
        "地膜五卷、复合肥十袋",
        "玉米长势很好，感谢农资公司。",
    ),
    (
        "farming",
        "花椒苗",
        "听说花椒好卖，想在地边种一些。",
        "花椒苗二百株",
        "花椒苗成活率很高，谢谢！",
    ),
    (
        "home_repair",
        "修补漏雨的屋顶",
        "下雨天屋里漏水，需要瓦片和防水布。",
        "瓦片三百片、防水布两卷",
        "屋顶补好了，再也不怕下雨了。",
    ),
    (
        "home_repair",
        "更换老化的电线",
        "家里电线老化，夏天用电扇时闻到焦味，担心起火。",
        "电线和开关一套并请电工安装",
        "线路换新了，住着安心，谢谢。",
    ),
    (
        "home_repair",
        "改建卫生厕所",
        "想把旱厕改成卫生厕所，达到五净一规范。",
        "蹲便器一套、水泥五袋",
        "厕所改好了，院子干净多了。",
    ),
    (
        "home_repair",
        "换一扇新门",
        "大门已经朽了，关不严，冬天透风。",
        "木门一扇",
        "新门装上了，屋里暖和了，谢谢。",
    ),
    (
        "other",
        "学做电商的培训机会",
        "想在网上卖自家的小米和核桃，但不会操作。",
        "县电商中心培训名额一个",
        "学会了网上开店，第一单已经卖出去了！",
    ),
    (
        "other",
        "一部旧的智能手机",
        "想和在外打工的儿子视频通话，看看孙子。",
        "旧智能手机一部",
        "天天能看到孙子了，太谢谢了。",
    ),
    (
        "other",
        "一套理发工具",
        "村里老人理发要去镇上，我会理发，想免费给大家理。",
        "理发工具一套",
        "已经给村里二十多位老人理了发，谢谢支持。",
    ),
]

DECLINE_REASONS = [
    "已由民政临时救助解决，不再上墙。",
    "超出爱心超市帮扶范围，已转介镇卫生院。",
    "与本户另一条心愿重复，已合并。",
]

# How many wishes end in each state (36 in all).
PLAN = (
    ["pending"] * 6
    + ["open"] * 11
    + ["withdrawn"]
    + ["matched"] * 7
    + ["fulfilled"] * 8
    + ["declined"] * 3
)

NOTES = ["下周送到村委会", "开学前送到", "由村委会代为转交", "合作社派人上门安装", ""]


def _donors(ctx, supervisor) -> list[Donor]:
    donors = list(Donor.objects.filter(village=ctx.village).order_by("id"))
    if donors:
        return donors
    return [
        services.donor_get_or_create(village=ctx.village, name=name, kind=kind, actor=supervisor)
        for name, kind in DONORS
    ]


def load(ctx):
    village = ctx.village
    manager = ctx.staff.get("manager")
    supervisor = ctx.staff.get("supervisor")
    if village is None or manager is None or supervisor is None:
        return
    households = list(
        Household.objects.filter(village=village, status=Household.Status.ACTIVE).order_by("id")
    )
    if not households:
        return
    logins = {
        user.household_id: user
        for user in User.objects.filter(household__in=households, is_staff=False, is_active=True)
    }
    staff_households = set(
        User.objects.filter(household__in=households, is_staff=True).values_list(
            "household_id", flat=True
        )
    )
    donors = _donors(ctx, supervisor)
    rng = ctx.rng
    plan = PLAN[:]
    rng.shuffle(plan)
    now = timezone.now()
    today = timezone.localdate()

    # The household whose card the demo logins print sees one wish in every state.
    demo_household = next(
        (
            h
            for h in sorted(households, key=lambda h: h.number)
            if h.pk in logins and h.pk not in staff_households
        ),
        None,
    )
    demo_states = set()
    used = set()  # (household, title): a household posts each wish once
    for index, state in enumerate(plan):
        kind, title, story, given, thanks = WISHES[index % len(WISHES)]
        candidates = [h for h in households if (h.pk, title) not in used]
        if state == "withdrawn":  # only the household itself takes a wish back
            with_login = [h for h in candidates if h.pk in logins]
            candidates, state = (with_login, state) if with_login else (candidates, "open")
        if not candidates:
            continue
        if demo_household in candidates and state not in demo_states:
            household = demo_household
            demo_states.add(state)
        else:
            household = rng.choice(candidates)
        used.add((household.pk, title))
        poster = logins.get(household.pk) or manager
        if index == 3:
            story += "有意者请联系13912345678。"  # removed by the moderator below
        wish = services.wish_post(
            household=household, actor=poster, title=title, kind=kind, story=story
        )
        posted = now - datetime.timedelta(days=rng.randint(20, 300), hours=rng.randint(0, 12))
        approved = posted + datetime.timedelta(days=rng.randint(0, 2), hours=2)
        matched = approved + datetime.timedelta(days=rng.randint(1, 10))
        handed_over = min(matched + datetime.timedelta(days=rng.randint(2, 15)), now)

        if state != "pending":
            if index == 3:
                services.wish_edit(
                    wish=wish,
                    actor=manager,
                    title=title,
                    story=story.replace("有意者请联系13912345678。", ""),
                    hide_household=False,
                    reason="删去电话号码，保护隐私",
                )
            wish = services.wish_moderate(
                wish=wish, actor=rng.choice([manager, supervisor]), hide_household=index % 9 == 0
            )
        if state in ("matched", "fulfilled"):
            wish = services.wish_match(
                wish=wish, actor=supervisor, donor=rng.choice(donors), note=rng.choice(NOTES)
            )
        if state == "fulfilled":
            wish = services.wish_fulfil(
                wish=wish, actor=supervisor, date=today, given=given, thanks=thanks
            )
        if state == "declined":
            wish = services.wish_decline(
                wish=wish, actor=manager, reason=DECLINE_REASONS[index % len(DECLINE_REASONS)]
            )

        if state == "withdrawn":
            wish = services.wish_withdraw(wish=wish, actor=poster)

        # Move the timestamps back so the wall shows a history, not 36 wishes of today.
        Wish.objects.filter(pk=wish.pk).update(
            created_at=posted,
            approved_at=approved if wish.approved_at else None,
            declined_at=matched if wish.declined_at else None,
            withdrawn_at=matched if wish.withdrawn_at else None,
        )
        WishMatch.objects.filter(wish=wish).update(matched_at=matched)
        WishFulfilment.objects.filter(wish=wish).update(
            date=timezone.localtime(handed_over).date(), recorded_at=handed_over
        )
