"""What a reader ticked and typed in a decision form, kept for the page they are sent back
to when the form decided nothing: Enter in the reason box (which presses no decision
button), a rejection without its reason, a refusal by the service. The page then comes back
as it was left, not empty. Kept in the session for the next drawing of that page only."""

SESSION_KEY = "kept_choices"
MOST_IDS = 500


def choices_keep(request, page: str, *, ids: list[int], reason: str) -> None:
    """Keep the ticked `ids` and the typed `reason` for the next drawing of `page`."""
    request.session[SESSION_KEY] = {"page": page, "ids": ids[:MOST_IDS], "reason": reason[:300]}


def choices_kept(request, page: str) -> dict | None:
    """What was kept for `page` ({"ids": set, "reason": str}), once; None if nothing was."""
    kept = request.session.get(SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("page") != page:
        return None
    del request.session[SESSION_KEY]
    return {"ids": set(kept.get("ids") or []), "reason": str(kept.get("reason") or "")}
