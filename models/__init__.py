"""Scaling-law functional forms, one module per law (see ``bayescale.forms`` for the contract)."""
