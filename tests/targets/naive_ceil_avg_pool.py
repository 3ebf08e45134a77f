"""Fault: ceil_mode without the last-window rule (SIZE-7, variant naive-ceil) in avg_pool2d."""

from conformance.variants import VARIANTS


def avg_pool2d(x, kernel_size, **kw):
    from conformance.strategies.conv import Case

    naive = next(v for v in VARIANTS if v.op == "avg_pool2d" and v.name == "naive-ceil")
    return naive.compute(Case("avg_pool2d", {"x": x}, {"kernel_size": kernel_size, **kw}))[0][1]
