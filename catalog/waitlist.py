"""The waitlist: customers who asked to be told when a sold-out plan is back in a region.

docs/ports-and-placement.md, "Waitlist". The flow:

1. `waitlist_join` (the shop's "Notify me" button): only for a signed-in customer, only while
   the plan is sold out there (catalog.selectors.region_stock == 0). One row per customer,
   plan and region, so ten clicks are one entry.
2. A capacity event calls `waitlist_capacity_freed` inside its own transaction: an order that
   gave its port back (termination, a cancelled or expired checkout: billing.transitions), the
   panel sync (a node or ports added, room freed), a drain lifted or a node mapped to a region
   (the console). It queues one `waitlist_check` task, only when someone waits there.
3. The task (`waitlist_notify`) looks at the stock of each waited-for plan and region; where
   there is room again it marks the first WAITLIST_NOTIFY_COUNT waiting entries notified (a
   conditional UPDATE, so two events at once never take the same entry) and queues one mail
   per customer for this event, in the same transaction.
4. The mail (`waitlist_mail_send`) goes out once per customer and event (core.SentMail key
   `waitlist-<event>-<user id>`), listing every plan of that customer the event brought back,
   with a link to buy it.

An entry is mailed once per time the customer asked: a later event does not mail them again
unless they ask again, which puts them at the end of the queue (`round` + 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.urls import reverse

from catalog.models import Plan, Region, WaitlistEntry
from catalog.selectors import region_stock
from core import clock
from core.errors import ServiceError


@dataclass(frozen=True)
class WaitlistJoin:
    entry: WaitlistEntry
    # False: the customer was already waiting (a repeated click); nothing changed.
    added: bool
    position: int


def waitlist_position(*, entry: WaitlistEntry) -> int:
    """1 = next to be told."""
    ahead = waiting_entries(plan_id=entry.plan_id, region_id=entry.region_id).filter(
        subscribed_at__lt=entry.subscribed_at
    )
    tied = waiting_entries(plan_id=entry.plan_id, region_id=entry.region_id).filter(
        subscribed_at=entry.subscribed_at, pk__lt=entry.pk
    )
    return ahead.count() + tied.count() + 1


def waiting_entries(*, plan_id: int, region_id: int) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(
        plan_id=plan_id, region_id=region_id, notified_at__isnull=True
    ).order_by("subscribed_at", "pk")


def waitlist_join(*, user_id: int, plan: Plan, region: Region) -> WaitlistJoin:
    """Put the customer on the plan's waitlist for the region. Refused (409 `not_sold_out`)
    while the region can still place the plan: the customer should buy it instead."""
    if region_stock(region=region, plan=plan) > 0:
        raise ServiceError(
            f"{plan} is available in {region.name} right now: you can buy it.",
            code="not_sold_out",
            status=409,
        )
    now = clock.now()
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(
                user_id=user_id, plan=plan, region=region, subscribed_at=now
            )
        return WaitlistJoin(entry=entry, added=True, position=waitlist_position(entry=entry))
    except IntegrityError:
        pass  # the customer has (had) an entry: a repeated click, or asking again
    rows = WaitlistEntry.objects.filter(user_id=user_id, plan=plan, region=region)
    # Asking again after being told: back in the queue, at its end. The condition makes
    # two clicks at once one new round.
    again = rows.filter(notified_at__isnull=False).update(
        notified_at=None, notified_event="", subscribed_at=now, round=F("round") + 1
    )
    entry = rows.get()
    return WaitlistJoin(entry=entry, added=bool(again), position=waitlist_position(entry=entry))


def waitlist_capacity_freed(*, region_ids: list[int] | None, event: str) -> bool:
    """A capacity event in these regions (None: any region). Queues the check in the
    caller's transaction, so a change that rolls back tells nobody; only when somebody waits
    there, so events in quiet regions cost one EXISTS query. Returns whether it queued."""
    from catalog.tasks import waitlist_check
    from core.queue import enqueue_in_transaction

    waiting = WaitlistEntry.objects.filter(notified_at__isnull=True)
    if region_ids is not None:
        waiting = waiting.filter(region_id__in=region_ids)
    if not waiting.exists():
        return False
    enqueue_in_transaction(waitlist_check, event=event[:120], region_ids=region_ids)
    return True


def waitlist_notify(*, event: str, region_ids: list[int] | None) -> int:
    """The worker's part of a capacity event: for each plan and region someone waits for and
    that has room again, mark the first WAITLIST_NOTIFY_COUNT waiting entries notified and
    queue one mail per customer. Returns how many entries it notified."""
    from catalog.tasks import send_waitlist_mail
    from core.queue import enqueue_in_transaction

    waiting = WaitlistEntry.objects.filter(notified_at__isnull=True)
    if region_ids is not None:
        waiting = waiting.filter(region_id__in=region_ids)
    pairs = sorted(set(waiting.values_list("plan_id", "region_id")))
    chosen: dict[int, list[int]] = {}
    now = clock.now()
    with transaction.atomic():
        for plan_id, region_id in pairs:
            plan = Plan.objects.filter(pk=plan_id, active=True, game__active=True).first()
            region = Region.objects.filter(pk=region_id, active=True).first()
            if plan is None or region is None or region_stock(region=region, plan=plan) <= 0:
                continue
            first = list(
                waiting_entries(plan_id=plan_id, region_id=region_id).values_list("pk", "user_id")[
                    : settings.WAITLIST_NOTIFY_COUNT
                ]
            )
            for entry_id, user_id in first:
                # Conditional: an entry another event took meanwhile is not mailed twice.
                taken = WaitlistEntry.objects.filter(pk=entry_id, notified_at__isnull=True).update(
                    notified_at=now, notified_event=event[:191]
                )
                if taken:
                    chosen.setdefault(user_id, []).append(entry_id)
        for user_id, entry_ids in sorted(chosen.items()):
            enqueue_in_transaction(
                send_waitlist_mail, event=event, user_id=user_id, entry_ids=entry_ids
            )
    return sum(len(ids) for ids in chosen.values())


def waitlist_mail_send(*, event: str, user_id: int, entry_ids: list[int]) -> bool:
    """The "it is back" mail: once per customer and event (core/mail.py's ledger)."""
    from django.contrib.auth import get_user_model

    from core.mail import mail_send_once

    user = get_user_model().objects.get(pk=user_id)
    entries = list(
        WaitlistEntry.objects.filter(pk__in=entry_ids, user_id=user_id).select_related(
            "plan__game", "region"
        )
    )
    if not entries:
        return False
    offers: list[dict[str, Any]] = [
        {
            "plan": e.plan,
            "game": e.plan.game,
            "region": e.region,
            "buy_url": f"{settings.API_URL}{reverse('buy', args=[e.plan.slug])}"
            f"?region={e.region.slug}",
        }
        for e in entries
    ]
    first = offers[0]
    subject = (
        f"{first['plan']} is available again in {first['region'].name}"
        if len(offers) == 1
        else f"{len(offers)} plans you asked about are available again"
    )
    return mail_send_once(
        key=f"waitlist-{event}-{user_id}",
        kind="waitlist_back",
        to=user.email,
        subject=subject,
        template="waitlist_back",
        context={"offers": offers, "email": user.email},
    )
