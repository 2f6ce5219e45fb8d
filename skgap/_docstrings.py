"""Docstring text that several public objects share, written once."""

__all__ = ["fill_doc"]

_SNIPPETS = {
    "tibshirani_2001": """\
Tibshirani, R., Walther, G. and Hastie, T. (2001). Estimating the
       number of clusters in a data set via the gap statistic. Journal of the
       Royal Statistical Society B, 63(2), 411-423.
       :doi:`10.1111/1467-9868.00293`""",
}


def fill_doc(obj):
    """Replace each ``%(name)s`` of `obj`'s docstring by its shared text."""
    doc = obj.__doc__
    for name, text in _SNIPPETS.items():
        doc = doc.replace(f"%({name})s", text)
    obj.__doc__ = doc
    return obj
