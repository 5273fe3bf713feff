"""Hourbill benchmarks (`make bench`, i.e. `python -m bench.run`): the 10,000-entry import against the
Clockify sandbox at 10 requests/s, the connector-style fetch of the same entries, server time per wizard
step, invoice and PDF render time, and the app process's peak memory. One results table at the end.

Only the stdlib and what `pip install -e '.[dev]'` installs are used. Everything runs on 127.0.0.1, in
temporary directories (SQLite), and stops by itself. See bench/README.md."""
