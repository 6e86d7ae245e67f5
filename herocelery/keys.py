"""Every key herocelery writes. Nothing else formats a key.

The canonical Hero Code names are kept: ``hero:job:<id>`` (hash), ``hero:flow:<id>`` (hash),
``hero:runners:<node>`` (hash, runner type -> heartbeat record).
"""
from __future__ import annotations

PREFIX = "hero"


class Keys:
    """Key formatting for the job store."""

    @staticmethod
    def job(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}"

    @staticmethod
    def flow(flow_id: str) -> str:
        return f"{PREFIX}:flow:{flow_id}"

    @staticmethod
    def flows() -> str:
        """Sorted set of flow ids scored by creation time."""
        return f"{PREFIX}:flows"

    @staticmethod
    def runners(node: str) -> str:
        return f"{PREFIX}:runners:{node}"

    @staticmethod
    def nodes() -> str:
        """Set of node names that registered a runner."""
        return f"{PREFIX}:nodes"

    @staticmethod
    def lease(job_id: str) -> str:
        """Held by the runner executing a job; a second delivery finding it held stands down."""
        return f"{PREFIX}:lease:{job_id}"

    @staticmethod
    def logs(job_id: str) -> str:
        return f"{PREFIX}:logs:{job_id}"

    @staticmethod
    def events(flow_id: str) -> str:
        """Pub/sub channel of a flow's status changes."""
        return f"{PREFIX}:events:{flow_id}"


def supervisor_queue(node: str) -> str:
    return f"supervisor.{node}"


def runner_queue(node: str, runner: str) -> str:
    return f"runner.{node}.{runner}"
