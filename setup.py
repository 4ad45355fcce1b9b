"""Installs the repository's top-level ``resources/`` folder as the package ``lcmem_resources``.

Everything else is declared in pyproject.toml; a package that lives in a folder of another name needs the
package list computed here (pyproject.toml cannot combine package discovery with that mapping).
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["lcmem", "lcmem.*", "app", "app.*"]), "lcmem_resources"],
    package_dir={"lcmem_resources": "resources"},
)
