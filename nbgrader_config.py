# nbgrader looks for its configuration in the course folder; the course's lives in
# autograder/config.py. This makes plain `nbgrader ...` and the Formgrader in JupyterLab
# use it too when started from this folder.
from autograder.config import configure

configure(get_config())  # noqa: F821 - get_config is provided by traitlets when nbgrader loads this file
