"""Page geometry: visible box, /Rotate, and the mapping between what the reader sees
("visual" coordinates: points from the bottom-left corner of the displayed page) and the
page's default user space (where /Rect and content live).

A rect given by the caller is visual, so "100 pt from the left, 50 pt from the bottom" means
what it says on a rotated scan too; the seal image is counter-rotated so it shows upright.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import pikepdf

Rect = Tuple[float, float, float, float]  # x0, y0, x1, y1


def _inherited(page: pikepdf.Dictionary, key: str) -> Optional[pikepdf.Object]:
    node = page
    for _ in range(32):
        v = node.get(key)
        if v is not None:
            return v
        node = node.get("/Parent")
        if not isinstance(node, pikepdf.Dictionary):
            return None
    return None


@dataclass(frozen=True)
class PageGeometry:
    box: Rect          # visible box (CropBox ∩ MediaBox; MediaBox if no CropBox) in user space
    rotate: int        # 0, 90, 180, 270 (clockwise, as /Rotate)

    @classmethod
    def of(cls, page: pikepdf.Dictionary) -> "PageGeometry":
        def rect(v) -> Optional[Rect]:
            try:
                a = [float(x) for x in v]
                return (min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3]))
            except Exception:
                return None
        media = rect(_inherited(page, "/MediaBox")) or (0.0, 0.0, 612.0, 792.0)
        crop = rect(_inherited(page, "/CropBox"))
        box = media
        if crop is not None:
            box = (max(media[0], crop[0]), max(media[1], crop[1]),
                   min(media[2], crop[2]), min(media[3], crop[3]))
            if box[0] >= box[2] or box[1] >= box[3]:
                box = media
        try:
            rot = int(_inherited(page, "/Rotate") or 0) % 360
        except (TypeError, ValueError):
            rot = 0
        if rot not in (0, 90, 180, 270):
            rot = 0
        return cls(box, rot)

    def to_user(self, X: float, Y: float) -> Tuple[float, float]:
        """Visual point → user space point."""
        x0, y0, x1, y1 = self.box
        if self.rotate == 90:
            return x1 - Y, y0 + X
        if self.rotate == 180:
            return x1 - X, y1 - Y
        if self.rotate == 270:
            return x0 + Y, y1 - X
        return x0 + X, y0 + Y

    def to_visual(self, x: float, y: float) -> Tuple[float, float]:
        x0, y0, x1, y1 = self.box
        if self.rotate == 90:
            return y - y0, x1 - x
        if self.rotate == 180:
            return x1 - x, y1 - y
        if self.rotate == 270:
            return y1 - y, x - x0
        return x - x0, y - y0

    def visual_rect_to_user(self, X: float, Y: float, w: float, h: float) -> Rect:
        ax, ay = self.to_user(X, Y)
        bx, by = self.to_user(X + w, Y + h)
        return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))

    def user_rect_to_visual(self, r: Rect) -> Rect:
        ax, ay = self.to_visual(r[0], r[1])
        bx, by = self.to_visual(r[2], r[3])
        return (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))


def upright_matrix(rotate: int, w: float, h: float) -> Tuple[float, float, float, float, float, float]:
    """``cm`` mapping the image unit square to a visual w × h box, upright on a page shown with
    /Rotate ``rotate``, inside a form whose BBox is the user-space box (w × h, or h × w)."""
    if rotate == 90:
        return (0.0, w, -h, 0.0, h, 0.0)
    if rotate == 180:
        return (-w, 0.0, 0.0, -h, w, h)
    if rotate == 270:
        return (0.0, -w, h, 0.0, 0.0, w)
    return (w, 0.0, 0.0, h, 0.0, 0.0)
