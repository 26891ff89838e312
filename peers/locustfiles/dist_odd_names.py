"""The class names of examples/distributed.rs with request names that need escaping in
the Prometheus text format (a double quote, backslashes, a newline), for a Swarm master's
`--metrics-bind` test (examples/tests/swarm_master_metrics.rs): what the Python worker
reports goes through the master's /metrics and back out of prometheus_client's parser.
"""

from locust import HttpUser, between, task

QUOTED = 'say "hi"'
BACKSLASHED = "C:\\load\\test\\"
NEWLINE = "first line\nsecond line"


class WebsiteUser(HttpUser):
    weight = 2
    wait_time = between(0.05, 0.15)

    @task
    def quoted(self):
        self.client.get("/index.html", name=QUOTED)

    @task
    def backslashed(self):
        self.client.get("/index.html", name=BACKSLASHED)


class AdminUser(HttpUser):
    weight = 1
    wait_time = between(0.05, 0.15)

    @task
    def newline(self):
        self.client.get("/status", name=NEWLINE)
