"""Student versions of the course notebooks, made the way nbgrader makes them.

A solution region (the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION``) becomes
nbgrader's stub, indented like the ``BEGIN`` line: ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` in a code cell, ``YOUR ANSWER HERE`` in a Markdown cell. A
cell that nbgrader's metadata marks as a solution but that holds no region is replaced by the
stub as a whole. Outputs and execution counts are cleared; the checks stay. Because the
course's regions sit inside a function body, the stubbed function raises
``NotImplementedError`` only when the check calls it, and the check reports "not attempted":
the student version runs top to bottom.

:func:`course_notebooks` (from :mod:`aigc_tf.book.lessons`) finds the lessons in a source
checkout's ``notebooks/`` folder or, for a pip install, where the wheel put them.
"""

import ast
import copy
import os
import re
import tempfile
from pathlib import Path

import nbformat

from aigc_tf.book.lessons import course_notebooks

BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = ("YOUR ANSWER HERE",)
_CHECK_CALL = re.compile(r"""check_exercise\(\s*["']([^"']+)["']""")
# Run-time cell metadata that would tell the student how long the reference run took.
_RUN_METADATA = ("execution", "collapsed", "scrolled")


def checked_exercise_ids(source):
    """Exercise ids passed to ``check_exercise("...")`` in ``source``, in order of appearance.

    Example:
        >>> checked_exercise_ids('passed = check_exercise("13.frechet_gaussians", fd)')
        ['13.frechet_gaussians']
    """
    return list(dict.fromkeys(_CHECK_CALL.findall(source)))


def strip_solutions(source, stub=CODE_STUB):
    """Replace each solution region of ``source`` by ``stub``, indented like its BEGIN line.

    Args:
        source: a cell's source text.
        stub: the lines that replace a region.

    Returns:
        ``(new_source, number_of_regions)``.

    Example:
        >>> code = "def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION"
        >>> print(strip_solutions(code)[0])
        def f(x):
            # YOUR CODE HERE
            raise NotImplementedError()
    """
    kept, regions, inside = [], 0, False
    for line in source.split("\n"):
        if BEGIN_SOLUTION in line:
            if inside:
                raise ValueError(f"nested {BEGIN_SOLUTION!r}: close the first region before "
                                 "opening another")
            inside, regions = True, regions + 1
            indent = line[:len(line) - len(line.lstrip())]
            kept.extend(indent + stub_line for stub_line in stub)
        elif END_SOLUTION in line:
            if not inside:
                raise ValueError(f"{END_SOLUTION!r} without a {BEGIN_SOLUTION!r} before it")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"{BEGIN_SOLUTION!r} without a matching {END_SOLUTION!r}")
    return "\n".join(kept), regions


def _student_cell(cell):
    stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
    cell.source, regions = strip_solutions(cell.source, stub)
    if not regions and cell.metadata.get("nbgrader", {}).get("solution", False):
        cell.source = "\n".join(stub)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    for key in _RUN_METADATA:
        cell.metadata.pop(key, None)


def student_version(notebook):
    """A copy of ``notebook`` with solutions replaced by stubs and outputs cleared.

    Args:
        notebook: an ``nbformat`` notebook (version 4).

    Returns:
        The student's notebook; ``notebook`` itself is left unchanged.

    Example:
        >>> cell = nbformat.v4.new_code_cell(
        ...     "def f(x):\\n    ### BEGIN SOLUTION\\n    return 2 * x\\n    ### END SOLUTION")
        >>> student = student_version(nbformat.v4.new_notebook(cells=[cell]))
        >>> "return 2 * x" in student.cells[0].source
        False
    """
    student = copy.deepcopy(notebook)
    for index, cell in enumerate(student.cells):
        try:
            _student_cell(cell)
        except ValueError as error:
            raise ValueError(f"cell {index}: {error}") from None
    return student


def write_notebook(notebook, path):
    """Write ``notebook`` to ``path`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    handle, partial = tempfile.mkstemp(suffix=".ipynb", prefix=".partial-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            nbformat.write(notebook, file)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)


def write_student_versions(out_dir, notebooks=None):
    """Write the student version of each notebook into ``out_dir`` under the same name.

    Args:
        out_dir: output folder (created if missing); it may not hold any of the sources.
        notebooks: notebook paths; by default :func:`course_notebooks`.

    Returns:
        A list of ``(path_written, number_of_solution_regions_removed)``.
    """
    out_dir = Path(out_dir)
    sources = [Path(path) for path in (course_notebooks() if notebooks is None else notebooks)]
    for source in sources:
        if not source.is_file():
            raise ValueError(f"expected a notebook file, got {str(source)!r}")
        if source.resolve().parent == out_dir.resolve():
            raise ValueError(f"{out_dir} holds the source {source.name}: its student version "
                             "would overwrite the solutions; choose another folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sources:
        notebook = nbformat.read(source, as_version=4)
        try:
            student = student_version(notebook)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None
        regions = sum(strip_solutions(cell.source)[1] for cell in notebook.cells)
        write_notebook(student, out_dir / source.name)
        written.append((out_dir / source.name, regions))
    return written


def reference_solutions(notebook):
    """The code that runs each checked exercise of ``notebook`` with its reference solution.

    A unit is a code cell holding a solution region, followed by the next code cell when the
    ``check_exercise`` call sits there rather than in the solution cell. Regions with no check
    (open-ended exercises) are left out.

    Returns:
        A list of ``(exercise_ids, code)``.

    Example:
        >>> cell = nbformat.v4.new_code_cell("def f(x):\\n    ### BEGIN SOLUTION\\n"
        ...                                  "    return 2 * x\\n    ### END SOLUTION\\n"
        ...                                  "check_exercise('00.double', f)")
        >>> reference_solutions(nbformat.v4.new_notebook(cells=[cell]))[0][0]
        ['00.double']
    """
    cells = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    units = []
    for position, code in enumerate(cells):
        if not strip_solutions(code)[1]:
            continue
        if not checked_exercise_ids(code) and position + 1 < len(cells):
            code = code + "\n" + cells[position + 1]
        if checked_exercise_ids(code):
            units.append((checked_exercise_ids(code), code))
    return units


def notebook_namespace(notebook):
    """A namespace holding ``notebook``'s top-level imports, functions and classes, with none
    of its experiments run: what an exercise cell needs from the rest of its notebook.

    A definition that needs the notebook's variables (a default argument, a class attribute)
    is left out, as are cells that are not plain Python (IPython magics).

    Returns:
        A dict to ``exec`` an exercise cell in.

    Example:
        >>> cells = [nbformat.v4.new_code_cell("import math\\nr = 2.0\\n"
        ...                                    "def area(r):\\n    return math.pi * r**2")]
        >>> namespace = notebook_namespace(nbformat.v4.new_notebook(cells=cells))
        >>> round(namespace["area"](1.0), 4), "r" in namespace
        (3.1416, False)
    """
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    namespace = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if not isinstance(node, kinds):
                continue
            try:
                exec(compile(ast.Module([node], type_ignores=[]), "<notebook>", "exec"),
                     namespace)
            except Exception:  # needs state that only running the notebook creates
                continue
    return namespace
