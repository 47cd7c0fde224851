"""Publishing the content: the FHIR NPM package (package.py) and the pages people read (plugin/pages)."""
