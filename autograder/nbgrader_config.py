# nbgrader configuration of the course; see autograder/config.py.
# Plain nbgrader uses it with:  nbgrader <command> --config autograder/nbgrader_config.py
from autograder.config import configure

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
configure(c)
