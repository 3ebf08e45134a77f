"""Fault: NMS suppresses at IoU >= iou_threshold (NMS-3, variant suppress-on-equal)."""

from reference.nms import batched_nms_variant, nms_variant


def nms(boxes, scores, iou_threshold, **kw):
    return nms_variant(boxes, scores, iou_threshold, variant="suppress-on-equal", **kw)


def batched_nms(boxes, scores, classes, iou_threshold, **kw):
    return batched_nms_variant(boxes, scores, classes, iou_threshold, variant="suppress-on-equal", **kw)
