"""Django's own strings that the project's catalogue translates instead of Django's.

The project's catalogue (in LOCALE_PATHS) takes precedence over Django's, so it can answer
for any msgid of Django's; but `makemessages` collects only the msgids of the project's own
files and would drop the others from it. Marked here, each exactly as Django writes it
(a plural with both its forms), they stay in locale/zh_Hans and are translated there.
Nothing imports this module (but the test that holds every msgid here to one Django still
has: tests/core/test_django_messages.py). Three kinds:

- DJANGO_ADMIN_MSGIDS: admin strings Django's zh_Hans catalogue does not translate yet;
  when it does, they may go.
- DJANGO_MSGIDS: strings whose msgid Django changed after its catalogue was translated.
- DJANGO_FORM_MSGIDS: the refusals a form shows by default (a field left empty, too long,
  a choice not offered, a file empty...), which Django's catalogue words as a programmer
  would ("确保该变量包含不超过 300 字符", "这个字段是必填项", "选择一个有效的选项") or gets
  wrong ("不允许是用空字符串" for a null character): worded here as the app speaks, for every
  form, the admin's included. The English stays Django's.
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

DJANGO_FORM_MSGIDS = (
    # forms.Field: a required field left empty (a box, a list, a file).
    gettext_noop("This field is required."),
    # core.validators.MaxLengthValidator / MinLengthValidator: CharField's max_length and
    # min_length (a probe's forged 5,000 characters into a 300-character reason).
    ngettext_lazy(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
    ngettext_lazy(
        "Ensure this value has at least %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at least %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
    # ChoiceField / MultipleChoiceField / a model field's choices: a value not offered.
    gettext_noop("Select a valid choice. %(value)s is not one of the available choices."),
    gettext_noop("Value %(value)r is not a valid choice."),
    # ModelChoiceField / ModelMultipleChoiceField: a row not (or no longer) offered.
    gettext_noop("Select a valid choice. That choice is not one of the available choices."),
    gettext_noop("“%(pk)s” is not a valid value."),
    # Min/MaxValueValidator (the project's number fields word their own; a date's limit,
    # a model's validator run by a service's full_clean() do not).
    gettext_noop("Ensure this value is less than or equal to %(limit_value)s."),
    gettext_noop("Ensure this value is greater than or equal to %(limit_value)s."),
    # DecimalValidator, for the amounts core.forms.DecimalField does not word itself.
    ngettext_lazy(
        "Ensure that there are no more than %(max)s digit in total.",
        "Ensure that there are no more than %(max)s digits in total.",
        "max",
    ),
    ngettext_lazy(
        "Ensure that there are no more than %(max)s decimal place.",
        "Ensure that there are no more than %(max)s decimal places.",
        "max",
    ),
    ngettext_lazy(
        "Ensure that there are no more than %(max)s digit before the decimal point.",
        "Ensure that there are no more than %(max)s digits before the decimal point.",
        "max",
    ),
    # IntegerField / DecimalField / DateField / TimeField / DateTimeField: not readable.
    gettext_noop("Enter a whole number."),
    gettext_noop("Enter a number."),
    gettext_noop("Enter a valid date."),
    gettext_noop("Enter a valid time."),
    gettext_noop("Enter a valid date/time."),
    # RegexValidator's and EmailValidator's default words.
    gettext_noop("Enter a valid value."),
    gettext_noop("Enter a valid email address."),
    # ProhibitNullCharactersValidator, on every CharField: Django's catalogue says "empty
    # strings are not allowed" (不允许是用空字符串).
    gettext_noop("Null characters are not allowed."),
    # FileField / ImageField / FileExtensionValidator.
    gettext_noop("No file was submitted. Check the encoding type on the form."),
    gettext_noop("No file was submitted."),
    gettext_noop("The submitted file is empty."),
    ngettext_lazy(
        "Ensure this filename has at most %(max)d character (it has %(length)d).",
        "Ensure this filename has at most %(max)d characters (it has %(length)d).",
        "max",
    ),
    gettext_noop("Please either submit a file or check the clear checkbox, not both."),
    gettext_noop(
        "File extension “%(extension)s” is not allowed. "
        "Allowed extensions are: %(allowed_extensions)s."
    ),
    # A model's field (full_clean() in a service, a ModelForm, the admin).
    gettext_noop("This field cannot be null."),
    gettext_noop("This field cannot be blank."),
    gettext_noop("%(model_name)s with this %(field_label)s already exists."),
    gettext_noop("%(model_name)s with this %(field_labels)s already exists."),
    gettext_noop("Constraint “%(name)s” is violated."),
    # Formsets (the donated goods' lines, the admin's inlines).
    gettext_noop(
        "ManagementForm data is missing or has been tampered with. Missing fields: "
        "%(field_names)s. You may need to file a bug report if the issue persists."
    ),
    ngettext_lazy(
        "Please submit at most %(num)d form.", "Please submit at most %(num)d forms.", "num"
    ),
    ngettext_lazy(
        "Please submit at least %(num)d form.", "Please submit at least %(num)d forms.", "num"
    ),
    gettext_noop("Please correct the duplicate data for %(field)s."),
    gettext_noop("Please correct the duplicate data for %(field)s, which must be unique."),
)
