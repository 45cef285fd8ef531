"""Credit the awards and deductions whose publicity period (公示期) has ended, once.

The worker (`manage.py worker`) does this every minute as a periodic task (points/tasks.py);
this command is for a deployment that runs no worker and prefers cron. Safe to run twice, or
beside the workers: each proposal is credited exactly once (points.publicity).
"""

from django.core.management.base import BaseCommand

from points.models import Proposal
from points.publicity import proposals_credit_due


class Command(BaseCommand):
    help = "Credit approved awards and deductions whose publicity period ended without objection."

    def handle(self, *args, **options):
        run = proposals_credit_due()
        self.stdout.write(f"Credited {len(run.credited)}, held {len(run.held)}.")
        # Why each is held (an award too: its card recalled, its balance at the limit).
        held = Proposal.objects.filter(pk__in=run.held).order_by("pk")
        for pk, points, why in held.values_list("pk", "points", "hold_reason"):
            self.stderr.write(f"proposal {pk}: {points:+d} points held ({why}), see the supervisor")
