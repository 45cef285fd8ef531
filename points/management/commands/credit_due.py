"""Credit the awards and deductions whose publicity period (公示期) has ended, once.

The worker (`manage.py worker`) does this every minute as a periodic task (points/tasks.py);
this command is for a deployment that runs no worker and prefers cron. Safe to run twice, or
beside the workers: each proposal is credited exactly once (points.publicity).
"""

from django.core.management.base import BaseCommand

from points.publicity import proposals_credit_due


class Command(BaseCommand):
    help = "Credit approved awards and deductions whose publicity period ended without objection."

    def handle(self, *args, **options):
        run = proposals_credit_due()
        self.stdout.write(f"Credited {len(run.credited)}, held {len(run.held)}.")
        for pk in run.held:
            self.stderr.write(f"proposal {pk}: deduction held (too few points), see the supervisor")
