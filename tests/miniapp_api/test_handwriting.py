"""Handwritten signatures from a phone canvas: drawn, trimmed, transparent; blanks refused."""
from __future__ import annotations

import io
import math

import pytest
from PIL import Image, ImageDraw

from miniapp_api.handwriting import (SignatureBlank, SignatureInvalid, SignatureTooLarge,
                                     normalise_png, render_strokes)


def wave(x0: float = 20, length: int = 60, amplitude: float = 30) -> list[dict]:
    return [{"x": x0 + i * 4, "y": 100 + amplitude * math.sin(i / 5), "t": i * 16, "p": 0.6}
            for i in range(length)]


def test_strokes_become_a_trimmed_transparent_png_in_ink():
    png = render_strokes([wave(), wave(x0=60, amplitude=-20)], ink="blue", height_px=150)
    image = Image.open(io.BytesIO(png))
    assert image.mode == "RGBA" and image.height == 150
    assert image.getpixel((0, 0))[3] == 0
    inked = [px for px in image.getdata() if px[3] > 200]
    assert inked and all(px[2] > px[0] for px in inked[:50])  # blue ink
    alpha = image.getchannel("A")
    assert alpha.getbbox()[0] <= 20 and alpha.getbbox()[1] <= 20  # trimmed close to the ink


@pytest.mark.parametrize("strokes", [
    [], [[]], [[{"x": 50, "y": 50}]],  # nothing, an empty stroke, a single dot
    [[{"x": 50 + i % 3, "y": 50 + i % 2} for i in range(200)]],  # a scribble on one spot
])
def test_blank_dots_and_scribbles_are_refused(strokes):
    with pytest.raises(SignatureBlank):
        render_strokes(strokes)


def test_oversized_and_malformed_payloads_are_refused():
    with pytest.raises(SignatureTooLarge):
        render_strokes([wave()] * 101)
    with pytest.raises(SignatureTooLarge):
        render_strokes([[{"x": 1, "y": 1}] * 20001])
    with pytest.raises(SignatureInvalid):
        render_strokes([[{"x": "left", "y": 1}]])
    with pytest.raises(SignatureInvalid):
        render_strokes([[{"x": 1e9, "y": 1}]])
    with pytest.raises(SignatureInvalid):
        render_strokes({"not": "a list"})


def test_an_uploaded_canvas_png_is_normalised_and_a_blank_one_refused():
    canvas = Image.new("RGBA", (600, 300), (255, 255, 255, 0))
    ImageDraw.Draw(canvas).line([(50, 150), (300, 80), (550, 200)], fill=(0, 0, 0, 255), width=8)
    buf = io.BytesIO()
    canvas.save(buf, "PNG")
    png = normalise_png(buf.getvalue(), ink="black", height_px=120)
    assert Image.open(io.BytesIO(png)).height == 120
    blank = io.BytesIO()
    Image.new("RGBA", (600, 300), (255, 255, 255, 0)).save(blank, "PNG")
    with pytest.raises(SignatureBlank):
        normalise_png(blank.getvalue())
    with pytest.raises(SignatureInvalid):
        normalise_png(b"not an image")
