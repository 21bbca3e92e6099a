"""sphinx-gallery hooks for avoidrl's examples (named by string in ``conf.py``).

The tutorials save their figures as PNG files (built inside
``avoidrl.plotting.headless()``, so pyplot never sees them); the gallery
passes each example an output folder of its own on the command line
(:func:`example_argv`) and :func:`saved_figures` picks up the PNGs it wrote
into that folder's ``figures/``, so the gallery shows the very figures the
example makes, each with the caption the example saved in the PNG's
``Description`` (``savefig(..., metadata={"Description": caption})``).

Built pages must not show the build machine's paths: the examples print
paths relative to their output folder, and :func:`short_warnings` prints
warnings without the file and line they were raised from.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

#: Examples that take an output folder as their first command-line argument.
TAKES_OUTPUT_FOLDER = ("tutorial_fit.py", "tutorial_validation.py", "parameter_recovery.py",
                       "grid_search_bounds.py", "custom_asymmetric_q.py",
                       "custom_perseveration.py", "full_bayes.py")


def output_folder(gallery_conf, src_file) -> Path:
    """Scratch folder of one example, under the build's ``_build`` folder."""
    return Path(gallery_conf["src_dir"]) / "_build" / "gallery_output" / Path(src_file).stem


def example_argv(gallery_conf, script_vars) -> list[str]:
    """``sys.argv[1:]`` of an example run by the gallery: its output folder, if it takes one."""
    src_file = script_vars["src_file"]
    if Path(src_file).name not in TAKES_OUTPUT_FOLDER:
        return []
    folder = output_folder(gallery_conf, src_file)
    shutil.rmtree(folder, ignore_errors=True)  # a fresh run writes a fresh folder
    return [str(folder)]


def caption_of(path: Path) -> str:
    """The caption an example saved in a PNG's ``Description`` text chunk ('' if none)."""
    from PIL import Image

    with Image.open(path) as image:
        return " ".join(str(image.info.get("Description", "")).split())


def figure_rst(images, captions, src_dir) -> str:
    """One ``figure`` directive per image, its caption below it."""
    blocks = []
    for image, caption in zip(images, captions):
        target = "/" + Path(image).relative_to(src_dir).as_posix()
        alt = caption.split(". ")[0] if caption else Path(image).stem
        block = [f".. figure:: {target}", f"   :alt: {alt}", "   :class: sphx-glr-single-img", ""]
        if caption:
            block += [f"   {caption}", ""]
        blocks.append("\n".join(block))
    return "\n\n" + "\n".join(blocks) + "\n" if blocks else ""


def saved_figures(block, block_vars, gallery_conf) -> str:
    """Image scraper: the PNGs the example saved into ``figures/`` since the last block."""
    folder = output_folder(gallery_conf, block_vars["src_file"]) / "figures"
    seen = block_vars.setdefault("avoidrl_seen_figures", set())
    new = sorted((p for p in folder.glob("*.png") if p not in seen),
                 key=lambda p: (p.stat().st_mtime_ns, p.name)) if folder.is_dir() else []
    images, captions = [], []
    for path, destination in zip(new, block_vars["image_path_iterator"]):
        shutil.copyfile(path, destination)
        seen.add(path)
        images.append(destination)
        captions.append(caption_of(path))
    return figure_rst(images, captions, gallery_conf["src_dir"])


def _short_format(message, category, filename, lineno, line=None):
    return f"{category.__name__}: {message}\n"


def short_warnings(gallery_conf, fname, when=None) -> None:
    """Reset hook: print warnings as ``Category: message``, without the raising file's path."""
    warnings.formatwarning = _short_format


#: Gallery order: the tutorials first; examples not listed come last, by name.
ORDER = ("tutorial_fit.py", "tutorial_validation.py", "parameter_recovery.py",
         "grid_search_bounds.py", "full_bayes.py", "custom_asymmetric_q.py",
         "custom_perseveration.py", "make_example_data.py")


class ExampleOrder:
    """Sort key of the gallery's examples (sphinx-gallery's ``within_subsection_order``)."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        name = Path(filename).name
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)
