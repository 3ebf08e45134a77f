"""Fault: box_area with the +1 pixel convention (BOX-4, variant plus-one-pixel)."""

from reference.boxes import prepare


def box_area(boxes, *, fmt="xyxy"):
    b = prepare(boxes, "boxes", fmt)
    return (b.x2 - b.x1 + 1) * (b.y2 - b.y1 + 1)
