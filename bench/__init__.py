"""The benchmark, `python -m bench` (`make bench`); data from `manage.py generate_county`."""
