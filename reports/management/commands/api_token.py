"""Make, list and revoke tokens of the read-only API (reports/api.py), as a county admin.

    manage.py api_token create --by <county admin> --name "县平台" [--township 英旺乡]
    manage.py api_token list --by <county admin>
    manage.py api_token revoke --by <county admin> <key prefix>
    (a key made before keys stopped beginning with "-": ... revoke --by <admin> -- <prefix>)

A token without --township reads the whole county. The key is printed once: only its
SHA-256 is kept.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from reports.api_tokens import api_token_create, api_token_revoke, token_scope_name
from reports.models import ApiToken
from villagers.models import Township, User


class Command(BaseCommand):
    help = "Make, list or revoke a token of the read-only API (as a county admin)."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # The key's start may come after the options, as the usage above writes it.
        parser.parse_args = parser.parse_intermixed_args
        return parser

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument(
            "prefix", nargs="?", help="revoke: the key's first characters (4 or more)"
        )
        parser.add_argument("--by", required=True, help="the county admin's user name")
        parser.add_argument("--name", default="", help="create: who uses the token")
        parser.add_argument("--township", default="", help="create: one township's name")

    def handle(self, *args, action, prefix, by, name, township, **options):
        actor = User.objects.filter(username=by, is_active=True).first()
        if actor is None or actor.county_id is None:
            raise CommandError(f"No county admin named {by!r}.")
        # The county's tokens, by their own county or township: whoever made them, wherever
        # that person is now (a successor takes the county's tokens over).
        tokens = ApiToken.objects.select_related("county", "township").filter(
            Q(county_id=actor.county_id) | Q(township__county_id=actor.county_id)
        )
        try:
            if action == "create":
                self._create(actor, name, township)
            elif action == "revoke":
                given = (prefix or "").strip()
                if len(given) < 4:
                    raise CommandError("Give at least the key's first 4 characters.")
                # The whole key, its first 8 characters (the token's prefix) or fewer.
                live = tokens.filter(revoked_at__isnull=True, prefix__startswith=given[:8])
                matches = list(live[:2])
                if len(matches) > 1:
                    raise CommandError(f"Several live tokens start with {given!r}: give more.")
                if not matches:
                    raise CommandError(f"No live token whose key starts with {given!r}.")
                api_token_revoke(token=matches[0], actor=actor)
                self.stdout.write(f"Revoked {matches[0].prefix} ({matches[0].name}).")
            else:
                for token in tokens:
                    state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "live"
                    scope = token_scope_name(token)
                    self.stdout.write(f"{token.prefix}  {token.name}  {scope}  {state}")
        except (PermissionDenied, ValidationError) as error:
            raise CommandError(" ".join(getattr(error, "messages", [str(error)]))) from error

    def _create(self, actor, name, township_name):
        township = None
        if township_name:
            township = Township.objects.filter(
                county_id=actor.county_id, name=township_name
            ).first()
            if township is None:
                raise CommandError(f"No township {township_name!r} in the county.")
        token, key = api_token_create(
            name=name,
            actor=actor,
            county=None if township else actor.county,
            township=township,
        )
        self.stdout.write(f"Token {token.prefix} for {token_scope_name(token)} ({token.name}).")
        self.stdout.write("The key, shown this once (send it as 'Authorization: Bearer <key>'):")
        self.stdout.write(key)
