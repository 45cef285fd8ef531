from django.urls import path

from points.views import (
    approvals,
    cards,
    declarations,
    ledger,
    proposals,
    publicity,
    rounds,
    rules,
    settlement,
)

app_name = "points"

urlpatterns = [
    path("households/<int:pk>/card/issue/", cards.card_issue_view, name="card_issue"),
    path("me/", ledger.villager_home, name="me"),
    path("households/<int:pk>/", ledger.household_ledger, name="household_ledger"),
    path("entries/<int:pk>/reverse/", ledger.entry_reverse_view, name="entry_reverse"),
    path("settlement/", settlement.settlement_page, name="settlement"),
    path("settlement/draft/", settlement.settlement_draft_view, name="settlement_draft"),
    path("settlement/approve/", settlement.settlement_approve_view, name="settlement_approve"),
    path("rules/", rules.rule_list, name="rule_list"),
    path("rules/add/", rules.rule_add, name="rule_add"),
    path("rules/<int:pk>/edit/", rules.rule_edit, name="rule_edit"),
    path("proposals/new/", proposals.proposal_new, name="proposal_new"),
    path("proposals/mine/", proposals.proposals_mine, name="proposals_mine"),
    path("proposals/<int:pk>/", proposals.proposal_detail, name="proposal_detail"),
    path("proposals/<int:pk>/photo/", proposals.proposal_photo, name="proposal_photo"),
    path("activities/new/", proposals.activity_new, name="activity_new"),
    path("batches/<int:pk>/", proposals.batch_detail, name="batch_detail"),
    path("rounds/", rounds.round_list, name="round_list"),
    path("rounds/new/", rounds.round_new, name="round_new"),
    path("rounds/new/<int:pk>/", rounds.round_new, name="round_new_group"),
    path("rounds/<int:pk>/", rounds.round_detail, name="round_detail"),
    path("approvals/", approvals.approval_queue, name="approval_queue"),
    path("publicity/", publicity.publicity_overview, name="publicity"),
    path("proposals/<int:pk>/object/", publicity.objection_new, name="objection_new"),
    path(
        "objections/<int:pk>/resolve/",
        publicity.objection_resolve_view,
        name="objection_resolve",
    ),
    path("proposals/<int:pk>/held/credit/", publicity.held_credit_view, name="held_credit"),
    path("proposals/<int:pk>/held/cancel/", publicity.held_cancel_view, name="held_cancel"),
    path("approvals/decide/", approvals.approval_decide, name="approval_decide"),
    path("declarations/", declarations.declaration_list, name="declaration_list"),
    path("declarations/new/", declarations.declaration_new, name="declaration_new"),
    path("declarations/<int:pk>/", declarations.declaration_review, name="declaration_review"),
    path(
        "declarations/<int:pk>/accept/",
        declarations.declaration_accept_view,
        name="declaration_accept",
    ),
    path(
        "declarations/<int:pk>/decline/",
        declarations.declaration_decline_view,
        name="declaration_decline",
    ),
    path("declarations/<int:pk>/photo/", declarations.declaration_photo, name="declaration_photo"),
]
