"""Ledger throughput through the services, each worker a process with its own connection.

Run by the benchmark on the county database (python -m bench.ledger ...). Worker w works in
village 102 + w as that village's supervisor (approving one proposal at a time) or manager
(3-line counter redemptions, one household after another), so eight workers are eight
villages busy at once, and their writes meet in the same tables and indexes. Batches of 50
are approved in village 110, from a larger pool of its own.
"""

import argparse
import json
import multiprocessing
import os
import time
import uuid
from decimal import Decimal

import django

BENCH_REASON = "bench: 新栽花椒"  # marks the proposals this benchmark made
BENCH_ITEMS = ["测试商品甲", "测试商品乙", "测试商品丙"]
VILLAGES = 8
FIRST_VILLAGE = 102  # not 101: the page benchmark's village keeps its generated history
BATCH_VILLAGE = FIRST_VILLAGE + VILLAGES  # batches of 50 draw from a pool of their own
BATCH = 50


def _village_cast(code: str):
    from villagers.models import User, Village

    village = Village.objects.get(code=code)
    manager = User.objects.get(username=f"manager{code}")
    supervisor = User.objects.get(username=f"supervisor{code}")
    return village, manager, supervisor


def prepare(per_village: int) -> dict:
    """Pending proposals (uncapped rule) and three 1-point items with deep stock per village.

    The proposals are laid down with bulk_create: this is setup, not what is measured.
    """
    from django.db import connection
    from django.utils import timezone

    from points.models import Account, Proposal, Rule
    from store.models import Item, StockMovement, Zone
    from store.services import MAX_UNITS_IN, item_save, stock_purchase

    day = timezone.localdate()
    made = 0
    for index in range(VILLAGES + 1):
        village, manager, _supervisor = _village_cast(f"{FIRST_VILLAGE + index:03d}")
        wanted = per_village * 3 if FIRST_VILLAGE + index == BATCH_VILLAGE else per_village
        rule = Rule.objects.get(village=village, code="CY01")
        households = list(
            Account.objects.filter(village=village)
            .order_by("pk")
            .values_list("household_id", flat=True)
        )
        pending = Proposal.objects.filter(village=village, reason=BENCH_REASON, status="proposed")
        missing = wanted - pending.count()
        proposals = [
            Proposal(
                village=village,
                household_id=households[n % len(households)],
                rule=rule,
                points=rule.points,
                reason=BENCH_REASON,
                occurred_on=day,
                proposed_by=manager,
            )
            for n in range(max(missing, 0))
        ]
        Proposal.objects.bulk_create(proposals, batch_size=5000)
        made += len(proposals)
        zone = Zone.objects.get(village=village, code=Zone.Code.DAILY)
        for name in BENCH_ITEMS:
            item = Item.objects.filter(village=village, name=name).first()
            if item is None:
                item = item_save(
                    item=Item(village=village, zone=zone, name=name, unit="件", points_price=1),
                    actor=manager,
                )
            while item.stock < 200_000:  # one stock-in brings at most MAX_UNITS_IN
                stock_purchase(
                    item=item,
                    quantity=MAX_UNITS_IN,
                    fund_source=StockMovement.FundSource.COLLECTIVE,
                    cost_yuan=Decimal("0.00"),
                    actor=manager,
                    note="bench",
                )
                item.refresh_from_db(fields=["stock"])
    # As pgbench -i does for its tables: else autovacuum wakes up for the rows just laid
    # down and competes with the first rounds for the machine's two cores.
    with connection.cursor() as cursor:
        for table in ("points_proposal", "store_item", "store_stockmovement"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"proposals_made": made}


def _worker(kind: str, code: str, seconds: float, ready, start, results) -> None:
    django.setup()
    from django.core.exceptions import ValidationError
    from django.db import connection

    from points.models import Account, Proposal
    from points.services import proposal_approve
    from store.models import Item
    from store.services import redemption_create

    village, manager, supervisor = _village_cast(code)
    if kind in ("approve", "approve50"):
        work = list(
            Proposal.objects.filter(village=village, reason=BENCH_REASON, status="proposed")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    else:
        # Households with points to spend: a cart of three 1-point goods, many times over.
        work = list(
            Account.objects.filter(village=village, balance__gte=50).select_related("household")
        )
        lines = dict.fromkeys(
            Item.objects.filter(village=village, name__in=BENCH_ITEMS).values_list("pk", flat=True),
            1,
        )
    ready.release()
    start.wait()
    done = errors = 0
    cpu = time.process_time()
    began = time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline and work:
        try:
            if kind == "approve":
                proposal_approve(proposal_ids=[work.pop()], actor=supervisor)
            elif kind == "approve50":  # a supervisor approving a batch: 50 proposals a call
                chosen, work = work[-BATCH:], work[:-BATCH]
                proposal_approve(proposal_ids=chosen, actor=supervisor)
                done += len(chosen) - 1
            else:
                account = work[done % len(work)]
                redemption_create(
                    village=village,
                    household=account.household,
                    lines=lines,
                    idempotency_key=uuid.uuid4(),
                    actor=manager,
                )
            done += 1
        except ValidationError:
            errors += 1
            if errors > 1000:
                break
    results.put((done, errors, time.perf_counter() - began, time.process_time() - cpu))
    connection.close()


def run(kind: str, workers: int, seconds: float) -> dict:
    """Start `workers` processes, let them all begin at once, return operations per second."""
    context = multiprocessing.get_context("spawn")
    ready, start, results = context.Semaphore(0), context.Event(), context.Queue()
    processes = [
        context.Process(
            target=_worker,
            args=(kind, f"{code:03d}", seconds, ready, start, results),
        )
        for code in (
            [BATCH_VILLAGE] * workers
            if kind == "approve50"
            else [FIRST_VILLAGE + w % VILLAGES for w in range(workers)]
        )
    ]
    for process in processes:
        process.start()
    for _process in processes:
        ready.acquire()
    start.set()
    outcomes = [results.get() for _process in processes]
    for process in processes:
        process.join()
    done = sum(o[0] for o in outcomes)
    errors = sum(o[1] for o in outcomes)
    elapsed = max(o[2] for o in outcomes)
    cpu = sum(o[3] for o in outcomes)
    return {
        "ops": done,
        "errors": errors,
        "seconds": elapsed,
        "per_second": done / elapsed,
        "client_cpu_ms": 1000 * cpu / max(done, 1),  # the workers' own CPU per operation
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["prepare", "run"])
    parser.add_argument("--kind", choices=["approve", "approve50", "redeem"], default="approve")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--per-village", type=int, default=15000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aidao.settings")
    django.setup()
    if args.action == "prepare":
        result = prepare(args.per_village)
    else:
        result = run(args.kind, args.workers, args.seconds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
