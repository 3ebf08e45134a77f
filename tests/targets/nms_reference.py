"""Not a fault: the reference's definitional forms of the detection ops (should conform)."""

from reference.boxes import box_iou_definitional
from reference.nms import batched_nms_definitional, nms_definitional, soft_nms_definitional


def box_iou(boxes1, boxes2, **kw):
    return box_iou_definitional(boxes1, boxes2, **kw)


def nms(boxes, scores, iou_threshold, **kw):
    return nms_definitional(boxes, scores, iou_threshold, **kw)


def batched_nms(boxes, scores, classes, iou_threshold, **kw):
    return batched_nms_definitional(boxes, scores, classes, iou_threshold, **kw)


def soft_nms(boxes, scores, **kw):
    return soft_nms_definitional(boxes, scores, **kw)
