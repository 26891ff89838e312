"""Locust side of the memory-per-user figure in benches/http_throughput.sh.

Each user GETs /status, then waits between 1 and 2 seconds, like Swarm's `liveness`
example with LOCUST_MIN_WAIT=1 LOCUST_MAX_WAIT=2.
"""
from locust import between, task
from locust.contrib.fasthttp import FastHttpUser


class Liveness(FastHttpUser):
    wait_time = between(1, 2)

    @task
    def status(self):
        self.client.get("/status")
