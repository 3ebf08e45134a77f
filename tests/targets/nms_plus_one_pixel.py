"""Fault: widths and heights get +1 in IoU (BOX-4, NMS-3; variant plus-one-pixel)."""

from reference.boxes import box_iou_variant
from reference.nms import nms_variant


def box_iou(boxes1, boxes2, **kw):
    return box_iou_variant(boxes1, boxes2, variant="plus-one-pixel", **kw)


def nms(boxes, scores, iou_threshold, **kw):
    return nms_variant(boxes, scores, iou_threshold, variant="plus-one-pixel", **kw)
