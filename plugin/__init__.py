"""FHIR terminology and CDS Hooks rules for CPT 33952 and the ECMO/ECLS cannulation code family."""

from plugin.version import __version__

__all__ = ["__version__"]
