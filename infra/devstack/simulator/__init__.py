"""The messenger simulator: fake platform APIs on loopback and a page to write as a customer."""

from infra.devstack.simulator.app import Simulator

__all__ = ["Simulator"]
