"""A master whose classes include one that Swarm's `distributed` example does not have
(GhostUser): the worker reports it to the master as an exception and runs the rest."""

from locust import User, constant, task


class WebsiteUser(User):
    wait_time = constant(1)

    @task
    def index(self):
        pass


class GhostUser(User):
    wait_time = constant(1)

    @task
    def boo(self):
        pass
