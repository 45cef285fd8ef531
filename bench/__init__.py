"""County-scale data and the benchmark: `manage.py generate_county`, `python -m bench`."""
