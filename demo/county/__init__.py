"""The county generator: 47 villages with three years of history, written with COPY.

`generate.county_generate` is the entry point (`manage.py generate_county`, `make bench`).
"""
