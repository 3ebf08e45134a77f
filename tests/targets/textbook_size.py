"""Fault: conv_output_size as the textbook codes it, int((H + P - F) / S) + 1 truncating toward zero:
right on every valid case, and a size instead of an error for a kernel larger than the padded input
(SIZE-4, variant textbook-truncation)."""


def conv_output_size(size, kernel_size, *, stride=1, padding=0, dilation=1, ceil_mode=False):
    if isinstance(padding, str) or ceil_mode:
        from conformance.targets import Unsupported
        raise Unsupported("textbook formula: numeric padding, floor mode")
    before, after = (padding, padding) if isinstance(padding, int) else padding
    return int((size + before + after - (dilation * (kernel_size - 1) + 1)) / stride) + 1
