"""The Python twin of examples/distributed.rs, for a Locust master with a Python worker
and a Swarm worker side by side (examples/tests/locust_workers.rs). Same class names,
weights, tasks and waits.

peers/start locust -f peers/locustfiles/dist_http.py --master --headless \
    --expect-workers 2 -u 6 -r 6 -t 8s -H http://127.0.0.1:8080 --csv /tmp/out
"""

from locust import HttpUser, between, task


class WebsiteUser(HttpUser):
    weight = 2
    wait_time = between(0.05, 0.15)

    @task(9)
    def index(self):
        self.client.get("/index.html")

    @task(1)
    def fail(self):
        self.client.get("/fail")


class AdminUser(HttpUser):
    weight = 1
    wait_time = between(0.05, 0.15)

    @task
    def status(self):
        self.client.get("/status")
