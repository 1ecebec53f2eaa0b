"""Deletion Lab: interactive studies of what *deleting* does in machine learning.

The science layer (this package) holds plain functions and small dataclasses; it never
imports ipywidgets or IPython. The user interface lives in :mod:`deletionlab.widgets`
(the top-level ``widgets/`` folder of the repository).
"""

__version__ = "0.1.0"

# the seven studies, their questions and notebooks: deletionlab.catalog.STUDIES

import logging as _logging

# a library must not print: job tracebacks are kept on the job (and in logs only if configured)
_logging.getLogger("deletionlab").addHandler(_logging.NullHandler())
