"""Fault: conv2d_cost forgets the groups: every output reads all C channels (COST-1)."""

from reference import conv2d_cost as _spec


def conv2d_cost(x_shape, w_shape, *, stride=1, padding=0, dilation=1, groups=1, bias=True):
    m, cg, kh, kw = w_shape
    c = _spec(x_shape, w_shape, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    macs = c.macs * groups  # N·OH·OW·M·C·KH·KW instead of N·OH·OW·M·(C/G)·KH·KW
    outputs = (c.flops - 2 * c.macs) if bias else 0
    return macs, 2 * macs + outputs, m * cg * groups * kh * kw + (m if bias else 0)
