"""A target whose library is not installed: the run must report it skipped, not crash."""

from conformance.targets import Target


class NeedsMissingLib(Target):
    name = "needs-missing-lib"
    requires = ("cnnspec_no_such_library",)

    def conv2d(self, x, w, b=None, **kw):
        import cnnspec_no_such_library  # noqa: F401
