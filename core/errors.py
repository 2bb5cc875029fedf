"""The input errors of the suite. Both CLIs turn an :class:`InvalidInputError` into one line and exit status
2."""


class InvalidInputError(ValueError):
    """Bad input given to the suite: the message says exactly what is wrong."""


class DataError(InvalidInputError):
    """Bad data or a bad data option; the message names the file, line or option."""


class ModelError(InvalidInputError):
    """Unknown model name, or a model that cannot be prepared here."""


class LossError(InvalidInputError):
    """Unknown loss, or labels and logits that do not fit together."""


class ConfigError(InvalidInputError):
    """An option that is unknown, ill-typed or out of range."""


class StorageError(Exception):
    """A file the suite must write cannot be written (full disk, no permission, a file where a folder should
    be): the message names the path. Not the user's input, but just as final: the CLIs stop with one line."""


class MissingDependencyError(ImportError):
    """A check or command needs an optional dependency that is not installed (the message says the extra)."""
