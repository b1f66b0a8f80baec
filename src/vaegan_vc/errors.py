"""The one exception type the command line turns into a clear one-line error."""


class VaeganError(Exception):
    """A user-facing problem (bad input, wrong file, refused overwrite): printed as one line."""
