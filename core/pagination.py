"""Page numbers from a query string, read like every other number a person sends."""

from django.core import paginator

from core.forms import int_or_none


class Paginator(paginator.Paginator):
    """Django's Paginator, but `?page=٣` or `?page=1_0` is no page number (int() took them)."""

    def validate_number(self, number):
        if isinstance(number, str):
            parsed = int_or_none(number)
            if parsed is None:
                raise paginator.PageNotAnInteger(self.error_messages["invalid_page"])
            number = parsed
        return super().validate_number(number)
