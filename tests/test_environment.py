"""The set-up files agree with each other, and CI runs the README's test command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_environment_yml_pins_the_same_packages_as_pyproject():
    """Does a conda learner get exactly the pinned packages pip users get?"""
    project = _pyproject()["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip) == wanted
    assert "python=3.11" in env["dependencies"]


def test_every_runtime_dependency_is_pinned():
    """Is every dependency an exact pin (the tested matrix)?"""
    for dep in _pyproject()["project"]["dependencies"]:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", dep), dep


def test_torch_and_torchvision_are_a_matching_pair():
    """Are torch and torchvision pinned to a pair that works together?"""
    deps = dict(d.split("==") for d in _pyproject()["project"]["dependencies"])
    assert (deps["torch"], deps["torchvision"]) in {("2.13.0", "0.28.0")} or (
        deps["torch"].startswith("2.14.") and deps["torchvision"].startswith("0.29.")
    )


def test_ci_runs_the_readme_test_command():
    """Does .ci/run call the command the README gives as the test command?"""
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    assert "COURSE_OFFLINE=1" in ci and "CI=true" in ci


def test_makefile_installs_without_the_local_cpu_wheel():
    """Does the install step ignore pip's local CPU-only torch wheel (which breaks torchvision)?"""
    makefile = (REPO / "Makefile").read_text()
    assert "env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null" in makefile
    assert (
        "PIP_CONSTRAINT" in makefile and "setuptools<81" in (REPO / "constraints.txt").read_text()
    )


def test_installed_torch_is_the_pinned_pair_and_torchvision_imports():
    """Does this environment hold the pinned torch with a working torchvision?"""
    import torch
    import torchvision

    deps = dict(d.split("==") for d in _pyproject()["project"]["dependencies"])
    assert torch.__version__.split("+")[0] == deps["torch"]
    assert torchvision.__version__.split("+")[0] == deps["torchvision"]
