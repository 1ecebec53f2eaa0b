"""Package discovery for setuptools (all metadata lives in pyproject.toml).

The science lives in ``src/deletionlab``; the user interface lives in the top-level ``widgets/``
folder and is installed as ``deletionlab.widgets``. pyproject.toml alone cannot combine automatic
package discovery with such a remapped package, hence these few lines.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages("src") + ["deletionlab.widgets"] + ["deletionlab.widgets." + p for p in find_packages("widgets")],
    package_dir={"": "src", "deletionlab.widgets": "widgets"},
)
