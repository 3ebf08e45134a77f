"""Fault: equal scores are visited by descending index, as an unstable sort may (NMS-2, no-tie-rule)."""

from reference.nms import nms_variant


def nms(boxes, scores, iou_threshold, **kw):
    return nms_variant(boxes, scores, iou_threshold, variant="no-tie-rule", **kw)
