"""The one error a bench run reports: what failed and where to look, in one line."""


class BenchError(RuntimeError):
    pass
