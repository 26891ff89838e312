"""Locust at full speed: no wait between requests, GET / (throughput comparisons).

peers/start locust -f peers/locustfiles/http_max.py --headless -u 50 -r 50 -t 10s \
    -H http://127.0.0.1:PORT --csv /tmp/out
"""

from locust import FastHttpUser, constant, task


class MaxUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
