"""Code with no Flask request in it: Clockify client, keys at rest, money, time entries to lines."""
