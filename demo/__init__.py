"""Demo and test data, outside the production apps: the demo village and the county generator.

An installed app only so that its commands exist (`load_demo`, `generate_county`); it has
no models. Nothing imports it but its own commands, the benchmark (`bench/`) and the tests.
"""
