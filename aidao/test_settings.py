"""Settings for the test suite: the normal settings with testing switches on."""

import os

os.environ["AIDAO_TESTING"] = "1"
os.environ.setdefault("DEBUG", "false")

from aidao.settings import *  # noqa: E402, F403
