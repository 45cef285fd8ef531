"""Settings for the test suite: the normal settings with testing switches on."""

import os

os.environ["AIDAO_TESTING"] = "1"
os.environ.setdefault("DEBUG", "false")

from aidao.settings import *  # noqa: E402, F403

# The suite's commits do not wait for the WAL to reach the disk: a crash of the test server
# loses nothing anyone keeps, and the transactional tests, live servers and table flushes
# commit thousands of times. The tests that kill a server of their own run their app in
# subprocesses on aidao.settings, durable as in production.
DATABASES["default"]["OPTIONS"]["options"] += " -c synchronous_commit=off"  # noqa: F405
