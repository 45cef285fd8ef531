"""factory_boy factories for the registry and the ledger."""

import datetime

import factory

from villagers.idnumbers import ID_CHECK_CHARS, ID_WEIGHTS
from villagers.models import (
    County,
    Household,
    Inspection,
    Member,
    Participation,
    Township,
    User,
    Village,
    VillageGroup,
)


def valid_id(first17: str) -> str:
    """An ID number with the right GB 11643 check digit."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + ID_CHECK_CHARS[total % 11]


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = County
        django_get_or_create = ["name"]

    name = "宜川縣"


class TownshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Township
        django_get_or_create = ["county", "name"]

    county = factory.SubFactory(CountyFactory)
    name = "英旺鄉"


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    township = factory.SubFactory(TownshipFactory)
    name = factory.Sequence(lambda n: f"村{n}")
    code = factory.Sequence(lambda n: f"{(n % 900) + 100:03d}")
    # Most tests are about approval itself, so approval credits at once; tests of the
    # publicity period (tests/points/test_publicity*.py) set a period explicitly.
    publicity_days = 0
    # Tests lay down history months and years back (dated entries, redemptions, donations):
    # the village's records reach back before any of it, as the scheme's (it began in 2019).
    # Tests of a village's first month set their own.
    started_on = datetime.date(2019, 1, 1)


class VillageGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VillageGroup

    village = factory.SubFactory(VillageFactory)
    name = factory.Sequence(lambda n: f"组{n}")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    group = factory.SubFactory(VillageGroupFactory)
    village = factory.SelfAttribute("group.village")
    number = factory.Sequence(lambda n: f"H{n:04d}")
    head_name = factory.Sequence(lambda n: f"张{n}")
    address = "啊道组1号"
    phone = "13912345678"


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    household = factory.SubFactory(HouseholdFactory)
    name = factory.Sequence(lambda n: f"李{n}")
    relation = Member.Relation.HEAD
    sex = Member.Sex.MALE
    birth_year = 1970
    # One person, one registration: each member made is another person born in 1970.
    id_number = factory.Sequence(lambda n: valid_id(f"61063019700101{n % 1000:03d}"))
    phone = "13812345678"


class PassedInspectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inspection

    household = factory.SubFactory(HouseholdFactory)
    date = factory.LazyFunction(datetime.date.today)
    yard_clean = True
    bedroom_clean = True
    kitchen_clean = True
    toilet_clean = True
    person_clean = True
    belongings_in_order = True


class ParticipationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participation

    household = factory.SubFactory(HouseholdFactory)
    date = factory.LazyFunction(datetime.date.today)
    activity = "义务打扫村道"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "Correct-Horse-42")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()
