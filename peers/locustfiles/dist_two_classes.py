"""Two user classes for a Locust master that drives Swarm workers (swarm-distributed's
tests). A master only needs the class names and weights: its workers run the users.

peers/start locust -f peers/locustfiles/dist_two_classes.py --master --headless \
    --expect-workers 1 -u 3 -r 3 -t 10s --csv /tmp/out

With -u 3: WebsiteUser 2, AdminUser 1 (weights 2 and 1).
"""

from locust import User, constant, task


class WebsiteUser(User):
    weight = 2
    wait_time = constant(1)

    @task
    def index(self):
        pass


class AdminUser(User):
    weight = 1
    wait_time = constant(1)

    @task
    def admin(self):
        pass
