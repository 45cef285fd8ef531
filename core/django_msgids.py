"""Django's own admin strings that Django's zh_Hans catalogue does not translate yet.

Django's templates ask for them with `{% translate %}`, and the project's catalogue (in
LOCALE_PATHS, which takes precedence over Django's) can answer, but `makemessages` collects
only the msgids of the project's own files and would drop them from it: marked here, each
exactly as Django's template writes it, they stay in locale/zh_Hans and are translated there.
Nothing imports this module; when Django's catalogue translates one, it may go. The same
holds for the other Django strings below, whose msgid Django changed after its catalogue
was translated.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

DJANGO_ADMIN_MSGIDS = (
    # admin/app_list.html: the screen-reader headings of the index's model tables.
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    # The tab title's prefix on a page with errors (the sign-in, a change form, a password).
    gettext_noop("Error:"),
    # admin/auth/user/add_form.html, above the add-user form (typographic apostrophes).
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
)

DJANGO_MSGIDS = (
    # auth.password_validation.MinimumLengthValidator: Django 5.2 words the length with %d,
    # its zh_Hans catalogue still with %(min_length)d (a staff password too short).
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
    ),
    # db.models.ForeignKey.validate: a service's full_clean() naming a row gone meanwhile.
    gettext_noop("%(model)s instance with %(field)s %(value)r is not a valid choice."),
)
