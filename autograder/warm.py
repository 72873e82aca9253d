"""Imported by the grading fork server (:func:`autograder.runner._context`): pay once, before the
first fork, what every grading process would otherwise pay on its own first notebook.

A grading process is forked from the server for each submission and exits after it, so caches
it fills die with it: compiled regular expressions, the notebook format's JSON-schema validator,
the feedback page's compiled Jinja templates, the Pygments lexer, SQLAlchemy's
configured mappers, jupyter_client's kernel provisioners (read from package metadata). Filled
here, in the server, every fork inherits them; that saves about half a second a submission.

It also imports the parent's main script (see :data:`autograder.runner.MAIN_ENV`), as each
fork would otherwise do on its own before it can start.

Nothing here starts a thread, an event loop, a socket or a database connection, which a fork
must not inherit. Importing this module does the work (a fork server can only import); a failure
is swallowed, since it costs only speed.
"""

from __future__ import annotations

__all__ = ["warm", "import_main"]


def _notebook():
    """A small notebook with what submissions hold: markdown with maths, code, and outputs."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    return new_notebook(
        cells=[
            new_markdown_cell("# Title\n\nSome *text*, `code` and $x^2$.\n\n- a\n- b"),
            new_code_cell(
                "import torch\nx = torch.ones(3)  # a comment\nprint(x.sum())",
                outputs=[
                    new_output("stream", name="stdout", text="tensor(3.)\n"),
                    new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
                    new_output("error", ename="ValueError", evalue="no", traceback=["ValueError"]),
                ],
            ),
        ],
        metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}},
    )


def warm() -> None:
    import nbformat
    import nbgrader.api  # noqa: F401 (its mapped classes)
    from jupyter_client.provisioning import KernelProvisionerFactory
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from sqlalchemy.orm import configure_mappers
    from traitlets.config import Config

    from autograder.course import FeedbackExporter

    nb = _notebook()
    nbformat.validate(nb)
    nbformat.reads(nbformat.writes(nb), as_version=4)
    # a feedback page made as nbgrader makes one: its templates compiled, kept for the forks
    config = Config()
    config.GenerateFeedback.exporter_class = FeedbackExporter
    converter = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    scores = {"notebook": "warm-up", "score": 1.0, "max_score": 2.0, "late_penalty": 0.0}
    exporter.from_notebook_node(nb, resources={"nbgrader": scores})
    configure_mappers()
    KernelProvisionerFactory.instance()


def import_main() -> None:
    """Import the parent's main script as ``__mp_main__`` here, as multiprocessing's fork server
    means to: a fork then finds it in place and does not run it again."""
    import os
    from multiprocessing import process, spawn

    from autograder.runner import MAIN_ENV

    path = os.environ.pop(MAIN_ENV, None)  # not for the kernels' environment
    if not path:
        return
    process.current_process()._inheriting = True  # as the fork server itself would
    try:
        spawn.import_main_path(path)
    finally:
        del process.current_process()._inheriting


for _step in (warm, import_main):
    try:
        _step()
    except BaseException:  # a script may even exit: grading processes then import it themselves
        pass
