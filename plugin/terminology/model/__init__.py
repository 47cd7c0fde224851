"""The terminology model: the registry of resources by url and url|version, code system views,
versions, languages, designations, the request context and parameters. Loading and answering; no HTTP."""
