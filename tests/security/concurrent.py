"""Sending one request from several browser tabs at the same moment, each on its own
database connection (the tests using it need `django_db(transaction=True)`)."""

import copy
import threading

from django.db import connection


def at_once(clients, url, data):
    """POST `data` to `url` from every client at the same moment; the responses, in order."""
    return at_once_each(clients, url, [data] * len(clients))


def at_once_each(clients, url, bodies):
    """POST each client its own body (another tab's form, with its own key) to `url` at the
    same moment; the responses, in order."""
    barrier = threading.Barrier(len(clients))
    responses = [None] * len(clients)

    def send(index, client):
        try:
            barrier.wait(timeout=10)
            responses[index] = client.post(url, bodies[index])
        except Exception as error:  # noqa: BLE001 - the test shows what each got
            responses[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=pair) for pair in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for response in responses:
        assert not isinstance(response, Exception), response
        assert response.status_code in (200, 302), response.status_code
    return responses


def tabs_of(browser, count):
    """`count` tabs of the browser that `browser` (a test client) is: its cookies, so its
    session (a counter's cart lives there)."""
    tabs = [type(browser)() for _ in range(count)]
    for tab in tabs:
        tab.cookies = copy.deepcopy(browser.cookies)
    return tabs
