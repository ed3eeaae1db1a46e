"""The course as a static website: README as the front page, the lessons grouped by course part.

Sphinx reads the notebooks with ``myst-nb`` and their committed outputs (nothing is executed)
and renders them with ``sphinx-book-theme``. Math is typeset by a MathJax 3 copy that the
``sphinx-mathjax-offline`` package ships, so neither the build nor a reader's browser needs the
network. The tools come with the ``book`` extra: ``pip install "aigc_tf[book]"``.
"""

import importlib.util
import io
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from aigc_tf.book.lessons import course_notebooks, is_lesson

#: Course parts in reading order: (title, first lesson number, last lesson number).
PARTS = (
    ("Basics", 0, 2),
    ("GANs", 3, 5),
    ("VAEs", 6, 7),
    ("Sequence models", 8, 11),
    ("Diffusion", 12, 12),
    ("Evaluation", 13, 13),
    ("Applied topics", 14, 99),
)
BOOK_TOOLS = ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx-mathjax-offline")
MISSING_TOOLS = 'the book needs its tools: pip install "aigc_tf[book]" (missing: {})'
MATHJAX_BUNDLE = "tex-svg-full.js"  # TeX input with every extension, SVG output: no web fonts
MATHJAX_PARTS = ("a11y", "sre", "ui")  # loaded on demand by MathJax's accessibility menu
SOLUTION_MARKER = "### BEGIN SOLUTION"
EXERCISES_HEADING = re.compile(r"^## Exercises\s*$", re.MULTILINE)
NBVAL_MARKER = "# NBVAL_"  # nbval's cell markers: for the test suite, not for readers

CONF = {
    "project": "aigc_tf",
    "author": "the aigc_tf authors",
    "html_title": "aigc_tf: generative AI with Keras 3 and TensorFlow",
    "extensions": ["myst_nb"],
    "myst_enable_extensions": ["dollarmath", "amsmath"],
    "myst_heading_anchors": 3,
    "nb_execution_mode": "off",  # the committed outputs of a full run are the lesson
    "nb_merge_streams": True,
    "html_theme": "sphinx_book_theme",
    # navbar_persistent: no second search field in a top bar (pydata-sphinx-theme 0.20)
    "html_theme_options": {"home_page_in_toc": True, "show_toc_level": 2, "navbar_persistent": []},
    "html_static_path": ["_static"],
    "mathjax_path": f"mathjax/{MATHJAX_BUNDLE}",
    "exclude_patterns": [],
}


class MissingBookTools(RuntimeError):
    """Raised when the ``book`` extra is not installed."""


@dataclass
class BookResult:
    """What :func:`build_book` made: the front page, the lesson pages and Sphinx's warnings."""

    index: Path
    lessons: list
    warnings: list = field(default_factory=list)
    seconds: float = 0.0


def lesson_number(path):
    """The lesson number of a notebook named ``NN_topic.ipynb``.

    Example:
        >>> lesson_number("notebooks/04_dcgan_mnist.ipynb")
        4
    """
    if not is_lesson(path):
        raise ValueError(f"expected a lesson notebook named NN_topic.ipynb, got {str(path)!r}")
    return int(Path(path).name[:2])


def group_by_part(notebooks):
    """Group lesson notebooks by course part, in reading order; empty parts are left out.

    Returns:
        A list of ``(part title, [notebooks])``.

    Example:
        >>> names = ["13_evaluating_generators.ipynb", "00_start_here.ipynb", "04_dcgan.ipynb"]
        >>> [(title, [n[:2] for n in lessons]) for title, lessons in group_by_part(names)]
        [('Basics', ['00']), ('GANs', ['04']), ('Evaluation', ['13'])]
    """
    ordered = sorted(notebooks, key=lesson_number)
    return [(title, lessons) for title, first, last in PARTS
            if (lessons := [n for n in ordered if first <= lesson_number(n) <= last])]


def link_lesson_names(markdown, stems):
    """Turn each lesson name quoted as code (`` `04_dcgan_mnist` ``) into a link to its page.

    Example:
        >>> link_lesson_names("| `04_dcgan_mnist` | a DCGAN |", {"04_dcgan_mnist"})
        '| [`04_dcgan_mnist`](04_dcgan_mnist.ipynb) | a DCGAN |'
    """
    def link(match):
        stem = match.group(1)
        return f"[`{stem}`]({stem}.ipynb)" if stem in stems else match.group(0)

    return re.sub(r"`(\d\d_\w+)`", link, markdown)


def index_page(front_page, parts):
    """The front page: the README, then one table of contents per course part."""
    stems = {Path(n).stem for _, lessons in parts for n in lessons}
    tocs = [f"```{{toctree}}\n:caption: {title}\n:maxdepth: 1\n\n"
            + "".join(f"{Path(n).stem}\n" for n in lessons) + "```\n"
            for title, lessons in parts]
    tocs.append("```{toctree}\n:caption: Practice\n:maxdepth: 1\n\nexercises\n```\n")
    return (link_lesson_names(front_page.rstrip(), stems)
            + "\n\n## Contents\n\n" + "\n".join(tocs))


def exercises_page(lessons):
    """A page linking to the Exercises section of each lesson that has one.

    Args:
        lessons: ``(file name, notebook)`` pairs in course order.
    """
    lines = ["# Exercises", "",
             "Each lesson ends with exercises. Checked ones call `check_exercise` on hidden "
             "cases; their reference solutions are folded away in the lesson pages "
             "(*Show code cell source*).", ""]
    for name, notebook in lessons:
        if any(cell.cell_type == "markdown" and EXERCISES_HEADING.search(cell.source)
               for cell in notebook.cells):
            lines.append(f"- [{_title(notebook, name)}]({name}#exercises)")
    return "\n".join(lines) + "\n"


def _title(notebook, path):
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return Path(path).stem


def book_notebook(notebook):
    """The lesson as the book shows it: reference solutions folded behind a toggle, and the
    test suite's ``# NBVAL_...`` cell markers left out.

    Example:
        >>> import nbformat
        >>> cell = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\\nprint(1)")
        >>> book_notebook(nbformat.v4.new_notebook(cells=[cell])).cells[0].source
        'print(1)'
    """
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.source = "\n".join(line for line in cell.source.split("\n")
                                if not line.startswith(NBVAL_MARKER))
        if SOLUTION_MARKER in cell.source and "hide-input" not in cell.metadata.get("tags", []):
            cell.metadata.setdefault("tags", []).append("hide-input")
    return notebook


def conf_py(conf=None):
    """The Sphinx configuration file's text."""
    settings = CONF if conf is None else conf
    header = '"""Sphinx configuration written by aigc_tf.book (aigc-tf book)."""\n\n'
    return header + "".join(f"{name} = {value!r}\n" for name, value in settings.items())


def missing_tools():
    """Names of the ``book`` extra's packages that cannot be imported here."""
    return [name for name in BOOK_TOOLS if importlib.util.find_spec(name) is None]


_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def place_front_page_images(markdown, base_dir, src_dir):
    """Copy the images the front page shows (paths relative to ``base_dir``) into the book's
    sources. Without a ``base_dir`` (an installed package's README has no checkout around it)
    each image becomes its alt text in italics. A missing file stays a reference, so the build
    reports it; web addresses stay as they are.

    Returns:
        The front page's Markdown.
    """
    def place(match):
        alt, target = match.groups()
        if "://" in target:
            return match.group(0)
        if base_dir is None:
            return f"*{alt}*"
        source = Path(base_dir) / target
        if not source.is_file() or ".." in Path(target).parts:
            return match.group(0)
        destination = Path(src_dir) / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        return match.group(0)

    return _IMAGE.sub(place, markdown)


def write_sources(src_dir, notebooks, front_page, front_page_dir=None):
    """Write the Sphinx project (conf.py, front page, lessons, MathJax) into ``src_dir``.

    ``front_page_dir`` is where the front page's relative image paths start (the README's
    folder); without it the images become their alt text.

    Returns:
        The lessons grouped by part, as :func:`group_by_part` gives them.
    """
    import nbformat  # comes with the book tools (myst-nb), not a core dependency

    src_dir = Path(src_dir)
    parts = group_by_part(notebooks)
    (src_dir / "_static").mkdir(parents=True, exist_ok=True)
    _copy_mathjax(src_dir / "_static" / "mathjax")
    (src_dir / "conf.py").write_text(conf_py(), encoding="utf-8")
    front_page = place_front_page_images(front_page, front_page_dir, src_dir)
    (src_dir / "index.md").write_text(index_page(front_page, parts), encoding="utf-8")
    lessons = [(Path(path).name, nbformat.read(path, as_version=4))
               for _, group in parts for path in group]
    for name, notebook in lessons:
        nbformat.write(book_notebook(notebook), src_dir / name)
    (src_dir / "exercises.md").write_text(exercises_page(lessons), encoding="utf-8")
    return parts


def _copy_mathjax(target):
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    bundle = Path(spec.submodule_search_locations[0]) / "static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(bundle / MATHJAX_BUNDLE, target / MATHJAX_BUNDLE)
    for part in MATHJAX_PARTS:
        shutil.copytree(bundle / part, target / part)


def readme_text(readme=None):
    """The front page's Markdown: ``readme``, else the checkout's README, else the installed
    package's long description (the same README, kept in its metadata)."""
    if readme is not None:
        return Path(readme).read_text(encoding="utf-8")
    checkout_readme = Path(__file__).resolve().parents[2] / "README.md"
    if checkout_readme.is_file():
        return checkout_readme.read_text(encoding="utf-8")
    from importlib import metadata

    return metadata.metadata("aigc_tf").get_payload() or "# aigc_tf\n"


def readme_dir(readme=None):
    """The folder of the front page's Markdown (None for the installed package's metadata)."""
    if readme is not None:
        return Path(readme).parent
    checkout_readme = Path(__file__).resolve().parents[2] / "README.md"
    return checkout_readme.parent if checkout_readme.is_file() else None


def _check_out_dir(out_dir):
    if out_dir.is_file():
        raise ValueError(f"expected a folder for the book, got the file {out_dir}")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / ".buildinfo").is_file():
        raise ValueError(f"{out_dir} is not empty and holds no earlier book (no .buildinfo): "
                         "choose a new or empty folder")


def _replace_folder(built, out_dir):
    """Put the finished build in place of ``out_dir`` (an earlier book is removed after)."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-old-", dir=out_dir.parent))
        out_dir.rename(old / out_dir.name)
    built.rename(out_dir)
    if old is not None:
        shutil.rmtree(old)


def _warning_lines(text):
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Sphinx colours its messages on a terminal
    return [line for line in plain.splitlines() if "WARNING" in line or "ERROR" in line]


def build_book(out_dir, notebooks=None, readme=None, verbose=False, jobs=None):
    """Build the course website into ``out_dir`` from README and the notebooks' saved outputs.

    The build goes to a temporary folder next to ``out_dir`` and replaces it only when Sphinx
    has finished, so an interrupted build never leaves half a book behind.

    Args:
        out_dir: output folder; new, empty, or holding an earlier book (it is replaced).
        notebooks: lesson notebooks (``NN_topic.ipynb``); by default every course notebook.
        readme: the front page's Markdown file; by default the project's README.
        verbose: print Sphinx's progress.
        jobs: parallel Sphinx processes; by default the number of CPU cores, at most 4.

    Returns:
        A :class:`BookResult`; its ``warnings`` lists Sphinx's warning lines.

    Raises:
        MissingBookTools: when the ``book`` extra is not installed (one-line message).
        ValueError: when ``out_dir`` is a file or a non-empty folder that is not a book.
    """
    missing = missing_tools()
    if missing:
        raise MissingBookTools(MISSING_TOOLS.format(", ".join(missing)))
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    start = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    _check_out_dir(out_dir)
    notebooks = [Path(n) for n in (course_notebooks() if notebooks is None else notebooks)]
    if not notebooks:
        raise ValueError("expected at least one lesson notebook, got none")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    warnings = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="aigc_tf-book-") as work:
        src = Path(work) / "src"
        parts = write_sources(src, notebooks, readme_text(readme), readme_dir(readme))
        built = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-partial-", dir=out_dir.parent))
        try:
            # As sphinx-build does: docutils' registries are global, so a second build in
            # the same process would warn that every node class is registered already.
            with patch_docutils(src), docutils_namespace():
                app = Sphinx(src, src, built, Path(work) / "doctrees", "html",
                             status=sys.stdout if verbose else None,
                             warning=warnings, freshenv=True, verbosity=0,
                             parallel=jobs or min(os.cpu_count() or 1, 4))
                app.build()
            _replace_folder(built, out_dir)
        finally:
            shutil.rmtree(built, ignore_errors=True)
    lessons = [out_dir / f"{Path(n).stem}.html" for _, group in parts for n in group]
    return BookResult(out_dir / "index.html", lessons, _warning_lines(warnings.getvalue()),
                      time.perf_counter() - start)
