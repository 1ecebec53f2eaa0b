"""Cells of ``notebooks/index.ipynb`` (regenerate with ``python scripts/make_notebook.py index.ipynb``)."""

NOTEBOOK = "index.ipynb"
TITLE = 'Deletion Lab'

CELLS = [
    ("md", """
# Deletion Lab

Seven small studies of what **deleting** does in machine learning — a negative prompt, an adverb, a
user's record, an adapter, rows and columns of a weight matrix, tokens, stars. Each study is a
notebook you can read in JupyterLab and a dashboard you can open in Voilà.
"""),
    ("code", """
from deletionlab.widgets import Home

Home()
"""),
    ("md", """
*Run it yourself:* `make dashboard` serves these dashboards at http://127.0.0.1:8866,
`make lab` opens the notebooks in JupyterLab at http://127.0.0.1:8888. See the README.
"""),
]
