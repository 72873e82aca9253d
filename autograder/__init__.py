"""Grading pipeline on top of nbgrader."""
