"""Locust twin of Swarm's examples/http_basic: one GET with a random query value.

peers/start locust -f peers/locustfiles/http_basic.py --headless -u 5 -r 5 -t 5s \
    -H http://127.0.0.1:PORT --csv /tmp/out
"""

import random

from locust import FastHttpUser, between, task


class WebsiteUser(FastHttpUser):
    wait_time = between(0.1, 0.1)

    @task
    def index(self):
        self.client.get(
            f"/index.html?ok={random.randint(0, 1_000_000)}",
            name="/index.html?ok=[random]",
        )
