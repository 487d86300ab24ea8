"""Connectors: turn a source (agency file, statute) into a :class:`connectors.types.Document`."""
