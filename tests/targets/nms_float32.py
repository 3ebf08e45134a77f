"""Not a fault: a plain greedy NMS computing IoU and the threshold test in float32.

It follows every rule of the spec, but rounds: where an IoU lies within float32 rounding
of iou_threshold its decision may differ from the float64 reference, which NMS-11 allows
(the runner counts such cases as ambiguous, not failed).
"""

import numpy as np

from reference.boxes import box_convert


def nms(boxes, scores, iou_threshold, *, score_threshold=None, max_output=None, fmt="xyxy"):
    b = box_convert(np.asarray(boxes, dtype=np.float64), fmt, "xyxy").astype(np.float32)
    s = np.asarray(scores, dtype=np.float32)
    t = np.float32(iou_threshold)
    cand = np.arange(s.size) if score_threshold is None else np.flatnonzero(s > score_threshold)
    order = cand[np.argsort(-s[cand], kind="stable")]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    keep = []
    for i in order:
        if max_output is not None and len(keep) >= max_output:
            break
        ok = True
        for k in keep:
            iw = max(min(b[i, 2], b[k, 2]) - max(b[i, 0], b[k, 0]), np.float32(0))
            ih = max(min(b[i, 3], b[k, 3]) - max(b[i, 1], b[k, 1]), np.float32(0))
            inter = np.float32(iw * ih)
            union = np.float32(area[i] + area[k] - inter)
            if union > 0 and np.float32(inter / union) > t:
                ok = False
                break
        if ok:
            keep.append(int(i))
    return np.array(keep, dtype=np.int64)


def _xyxy32(boxes, fmt):
    """Format conversion in float32, as a float32 library (torchvision's box_convert) does it."""
    b = np.asarray(boxes, dtype=np.float32)
    c0, c1, c2, c3 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    half = np.float32(0.5)
    cols = {"xyxy": (c0, c1, c2, c3), "yxyx": (c1, c0, c3, c2), "xywh": (c0, c1, c0 + c2, c1 + c3),
            "cxcywh": (c0 - half * c2, c1 - half * c3, c0 + half * c2, c1 + half * c3)}[fmt]
    return np.stack(cols, axis=1).reshape(-1, 4)


def box_iou(boxes1, boxes2, *, fmt="xyxy"):
    """IoU in float32 with torchvision's formula (areas, clamped intersection, one division)."""
    a, b = _xyxy32(boxes1, fmt), _xyxy32(boxes2, fmt)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    wh = np.clip(np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out
