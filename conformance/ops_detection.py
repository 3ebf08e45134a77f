"""Detection ops in the runner's registry (box_iou, nms, batched_nms): filled in by issue 4."""
