"""Load the demo: 啊道村 and its two neighbours (`make run`, `make demo`); see `demo.loader`."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from demo.loader import DemoContext, demo_run
from demo.registry import demo_logins_text
from villagers.models import Village

DEMO_CODES = ("101", "102", "103")  # 啊道村 (demo.registry) and its neighbours (demo.neighbours)


class Command(BaseCommand):
    help = "Load the demo: 啊道村 and two neighbours (英旺乡, 宜川县), with demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when any village exists already (used by `make run`).",
        )
        parser.add_argument("--seed", type=int, default=2018)
        parser.add_argument(
            "--address",
            default="http://127.0.0.1:8000",
            help="Where the app will be served, printed with the logins (`make run PORT=...`).",
        )

    def handle(self, *args, if_empty=False, seed=2018, address="", **options):
        if not (settings.DEBUG or settings.TESTING):
            # Its logins share one published password: never in a production database.
            raise CommandError(
                "The demo's logins have a public password: load it only with DEBUG=true."
            )
        if if_empty and Village.objects.exists():
            self.stdout.write("Demo data already loaded.")
        elif Village.objects.filter(code__in=DEMO_CODES).exists():
            raise CommandError(
                f"Villages with the demo's codes ({', '.join(DEMO_CODES)}) exist already: "
                "nothing was loaded (with --if-empty this is not an error)."
            )
        else:
            with transaction.atomic():
                demo_run(DemoContext(seed), log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(demo_logins_text(address)))
