# nbgrader configuration of the course; see autograder/config.py.
# Plain nbgrader uses it from the course folder's nbgrader_config.py, or with
#   nbgrader autograde A --AutogradeApp.config_file=<repo>/autograder/nbgrader_config.py  (AppClass per command)
from autograder.config import configure

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
configure(c)
