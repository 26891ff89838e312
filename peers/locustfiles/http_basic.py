"""Locust twin of Swarm's examples/http_basic: one GET with a random query value.

peers/start locust -f peers/locustfiles/http_basic.py --headless -u 5 -r 5 -t 5s \
    -H http://127.0.0.1:PORT --csv /tmp/out
"""

import os
import random

from locust import FastHttpUser, between, task

# The wait between requests, seconds: 0.1, or LOCUST_MIN_WAIT/LOCUST_MAX_WAIT as the Swarm
# example reads them.
MIN_WAIT = float(os.environ.get("LOCUST_MIN_WAIT", "0.1"))
MAX_WAIT = float(os.environ.get("LOCUST_MAX_WAIT", "0.1"))


class WebsiteUser(FastHttpUser):
    wait_time = between(MIN_WAIT, MAX_WAIT)

    @task
    def index(self):
        self.client.get(
            f"/index.html?ok={random.randint(0, 1_000_000)}",
            name="/index.html?ok=[random]",
        )
