"""Demo registry data for 啊道村 (filled in by the registry work)."""

DEMO_LOGINS_TEXT = "Demo logins: see README."


def load(ctx):
    pass
