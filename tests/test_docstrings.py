"""Run every docstring example of the ``aigc_tf`` package ("docstring examples are run by the
tests").

Modules are found with ``pkgutil.walk_packages``, so a new module's examples are picked up
without touching this file. Each docstring that holds examples is one test case, named by its
qualified name (e.g. ``aigc_tf.text.CharVocab.encode``); it runs in a fresh copy of its
module's globals, like ``python -m doctest``, and fails with the runner's report.
"""

import copy
import doctest
import importlib
import pkgutil

import pytest

import aigc_tf

OPTIONFLAGS = doctest.NORMALIZE_WHITESPACE


def _modules():
    """``(name, module or import error)`` for the package and every module below it."""
    found = [(aigc_tf.__name__, aigc_tf)]
    failed = []
    prefix = aigc_tf.__name__ + "."
    for info in pkgutil.walk_packages(aigc_tf.__path__, prefix, onerror=failed.append):
        if info.name.endswith(".__main__"):  # importing it would run a command line
            continue
        try:
            found.append((info.name, importlib.import_module(info.name)))
        except Exception as error:  # reported by its own failing case, not a collection error
            found.append((info.name, error))
    found += [(name, ImportError(f"cannot import package {name}")) for name in failed]
    return found


def _cases():
    # The finder keeps to objects defined in each module (re-exports are not run twice) and
    # drops docstrings without examples, e.g. the command-line functions of aigc_tf.cli.
    finder = doctest.DocTestFinder(exclude_empty=True)
    cases = []
    for name, module in _modules():
        if isinstance(module, Exception):
            cases.append(pytest.param(module, id=f"{name} (import)"))
            continue
        try:
            tests = finder.find(module, name)
        except ValueError as error:  # a malformed example fails its module, not collection
            cases.append(pytest.param(error, id=f"{name} (parse)"))
            continue
        for test in sorted(tests, key=lambda t: t.name):
            if test.examples:
                cases.append(pytest.param(test, id=test.name))
    return cases


@pytest.fixture(scope="module", autouse=True)
def warm_caches():
    """Load MNIST and the Shakespeare corpus once before any example runs.

    Each loader prints a one-line notice (which source is in use: e.g. the offline MNIST
    fallback) the first time it runs in a process and never again. Without this warm-up, the
    first example that loads the data would print the notice and the others would not, so
    the results would depend on the order the examples run in.
    """
    from aigc_tf.data import load_mnist
    from aigc_tf.text import load_corpus

    load_mnist("test")
    load_corpus("shakespeare")


@pytest.mark.parametrize("test", _cases())
def test_docstring_examples(test):
    if isinstance(test, Exception):
        raise test
    test = copy.copy(test)
    test.globs = dict(test.globs)  # the runner clears the globals it ran in: keep a rerun possible
    report = []
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    result = runner.run(test, out=report.append)
    if result.failed:
        pytest.fail(
            f"{result.failed} of {result.attempted} examples failed in {test.name}:\n"
            + "".join(report),
            pytrace=False,
        )
