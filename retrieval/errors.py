"""Errors retrieval raises; each message is one line a user or operator can act on."""

from connectors.errors import NuriError


class RetrievalError(NuriError):
    """Base class; ``str(err)`` is the user-facing reason."""


class EncoderUnavailableError(RetrievalError):
    """A retrieval model (the query/passage encoder or the reranker) is missing or cannot be reached."""

    code = "encoder_unavailable"


class EncoderResponseError(EncoderUnavailableError):
    """The embedding server answered, but unusably: not JSON (an HTML error page), vectors of the
    wrong shape, count or dimension, or not finite."""

    code = "encoder_error"


class IndexUnavailableError(RetrievalError):
    """The index cannot be opened or reached (missing, incompatible, server down)."""

    code = "index_unavailable"


class IndexBusyError(IndexUnavailableError):
    """Another process holds the embedded index open."""


class QueryError(RetrievalError):
    """The query itself is invalid (empty, too long, top_k out of range)."""

    code = "invalid_query"


class InputPathError(RetrievalError):
    """A path given to ingest does not exist or cannot be read."""

    code = "invalid_path"
