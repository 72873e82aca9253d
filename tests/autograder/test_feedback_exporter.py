"""The feedback pages' exporter: nbconvert's page, without its slow second parse."""

from __future__ import annotations

import base64

from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.course import NO_ALT, FeedbackExporter

PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a")).decode()  # only has to look like one


def _notebook():
    return new_notebook(
        cells=[
            new_markdown_cell('# Scores\n\nAn image: <img src="x.png" alt="a cat"> and $x^2$.'),
            new_code_cell(
                "print('hi')",
                outputs=[
                    new_output("stream", name="stdout", text="hi <b>&amp;</b>\n"),
                    new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"}),
                ],
            ),
        ],
        metadata={"language_info": {"name": "python"}},
    )


def test_the_page_says_what_nbconvert_s_says_and_every_image_has_alt_text():
    """Same text as nbconvert's own page; images without alt text get nbconvert's sentence,
    and an image's own alt text stays."""
    ours, _ = FeedbackExporter(template_name="classic").from_notebook_node(_notebook())
    theirs, _ = HTMLExporter(template_name="classic").from_notebook_node(_notebook())
    soup, reference = BeautifulSoup(ours, "html.parser"), BeautifulSoup(theirs, "html.parser")
    assert soup.get_text() == reference.get_text()
    alts = [img.get("alt") for img in soup.find_all("img")]
    assert alts == [img.get("alt") for img in reference.find_all("img")]
    assert sorted(alts) == sorted(["a cat", NO_ALT])
