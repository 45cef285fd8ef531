"""The bottom package: machinery every app shares, importing no domain app.

Domain apps (villagers, points, store, wishwall) and the pages above them import from here;
nothing here imports them. The project package (aidao: settings, urls) sits on top of all.
"""
