"""HTTP for the `scheduling` context: the appointment book and reference data (`book`),
the waiting list and the day sheet (`desk`)."""

from api.scheduling import book, desk
from api.scheduling.actions import GRANTS

routers = (book.router, desk.router)
__all__ = ["GRANTS", "routers"]
