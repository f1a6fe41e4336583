class UserError(Exception):
    """A mistake in the user's input, recipe or command line.

    The CLI prints it as one line and exits with status 2; it never becomes a traceback.
    """
