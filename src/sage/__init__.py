"""SAGE: declarative LLM/AI pipelines with a unified serving control plane.

Layers, lowest first (an import may only point down): ``sage.common`` (L1),
``sage.platform`` (L2), ``sage.kernel`` and ``sage.libs`` (L3), ``sage.llm``,
``sage.middleware`` and ``sage.gateway`` (L4), ``sage.apps`` and
``sage.benchmark`` (L5), ``sage.cli`` and ``sage.studio`` (L6).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sage")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
