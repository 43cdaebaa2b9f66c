from tests.webhooks import client, receiver, runtime

__all__ = ["client", "receiver", "runtime"]
