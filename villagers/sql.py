"""The registry's statements by hand (the rule and the builders: core.sql). Index:

- `SESSION_USER`: every signed-in request's user, with its village, township, county and
  household, and its role names, in one read. The ORM took about 2.5 ms to build this
  five-table select on the benchmark's machine, which PostgreSQL answers in 0.3 ms, on every
  page of every signed-in user (docs/performance.md).

- `IN_CAPITALS`: texts in capitals as the database writes them (its UPPER, under its own
  ctype), which its index of household numbers in any case compares. Python's str.upper
  differs for a few letters ("ß" is "SS" to Python and stays "ß" in PostgreSQL; a database
  of the C locale leaves "é" alone), and the ORM selects from no list of values.

Columns and tables come from the models (core.sql).
"""

from django.contrib.auth.models import Group

from core.sql import column, columns, table
from villagers.models import County, Household, Township, User, Village

U, V, T, C, H = User, Village, Township, County, Household
_USER_GROUPS = User.groups.through

SESSION_USER = f"""
    SELECT {columns(U, "u")}, {columns(V, "v")}, {columns(T, "t")}, {columns(C, "c")},
           {columns(H, "h")},
           ARRAY(SELECT g.{column(Group, "name")} FROM {table(Group)} g
                 JOIN {table(_USER_GROUPS)} ug ON ug.{column(_USER_GROUPS, "group")} = g.{column(Group, "id")}
                 WHERE ug.{column(_USER_GROUPS, "user")} = u.{column(U, "id")}
                   AND g.{column(Group, "name")} = ANY(%(roles)s))
    FROM {table(U)} u
    LEFT JOIN {table(V)} v ON v.{column(V, "id")} = u.{column(U, "village")}
    LEFT JOIN {table(T)} t ON t.{column(T, "id")} = v.{column(V, "township")}
    LEFT JOIN {table(C)} c ON c.{column(C, "id")} = t.{column(T, "county")}
    LEFT JOIN {table(H)} h ON h.{column(H, "id")} = u.{column(U, "household")}
    WHERE u.{column(U, "id")} = %(user)s AND u.{column(U, "is_active")}
"""  # noqa: S608, E501 (built from the models)

IN_CAPITALS = "SELECT t, UPPER(t) FROM unnest(%(texts)s::text[]) AS t"
