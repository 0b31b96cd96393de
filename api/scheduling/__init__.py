"""HTTP for the `scheduling` context: the appointment book and reference data (`book`),
the waiting list and the day sheet (`desk`), providers' calendar feeds (`feeds`)."""

from api.scheduling import book, desk, feeds
from api.scheduling.actions import GRANTS

routers = (book.router, desk.router, feeds.router)
__all__ = ["GRANTS", "routers"]
