"""HTTP interfaces (FastAPI): thin routes over the Archive's Python core."""

from ria.api.app import create_app

__all__ = ["create_app"]
