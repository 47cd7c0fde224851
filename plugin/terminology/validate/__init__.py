"""Validation of codes against code systems and value sets: membership, display checks, system
inference, findings and the $validate-code verdict."""
