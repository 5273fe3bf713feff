"""gunicorn settings for a small VPS (1 GB, 1-2 cores): `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Two sync workers with four threads each: requests that wait on Clockify (up to ~15 s with the
configured timeouts) do not hold up the whole site, and memory stays around 2 x 100 MB.

Several hosts behind a balancer (docs/deploy.md): HOURBILL_BIND=<this host's private address>:8000 and
HOURBILL_FORWARDED_ALLOW_IPS=<the balancer's address>, with the same SECRET_KEY and HOURBILL_DATA_KEY
on every host. Stopped with SIGTERM (systemctl stop), gunicorn finishes its requests and refuses new
ones, which the balancer passes to another host."""
import os

bind = os.environ.get("HOURBILL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HOURBILL_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("HOURBILL_THREADS", "4"))
timeout = 60  # above the Clockify timeouts, so a slow Clockify gives a message, not a killed worker
graceful_timeout = 30
max_requests = 1000  # recycle workers now and then: steady memory on a small machine
max_requests_jitter = 100
accesslog = "-"  # URLs never carry a Clockify key, so access logs are safe to keep
errorlog = "-"
forwarded_allow_ips = os.environ.get("HOURBILL_FORWARDED_ALLOW_IPS", "127.0.0.1")
