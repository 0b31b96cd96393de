"""What scheduling lets people do, and who may."""

from __future__ import annotations

from api.permissions import CLINICIANS, STAFF, Grants
from domain.shared import Role

SCHEDULE_READ = "schedule:read"  # providers, chairs, hours, appointment types, availability
SCHEDULE_MANAGE = "schedule:manage"  # change that reference data
APPOINTMENTS_READ = "appointments:read"  # the appointment book, day sheets
APPOINTMENTS_WRITE = "appointments:write"  # book, move, confirm, check in, cancel, …
APPOINTMENTS_OVERRIDE = "appointments:override"  # book outside hours, giving a reason
CALENDAR_FEEDS = "calendar-feeds:manage"  # make, list and revoke feeds of one's own appointments
CALENDAR_FEEDS_ANY = "calendar-feeds:any-provider"  # … of any provider's
# A feed read, as the access log names it: granted to no role, as the feed's token is the
# permission.
CALENDAR_FEED_READ = "calendar-feeds:read"
GRANTS: Grants = {
    SCHEDULE_READ: (*STAFF, Role.AUDITOR),
    SCHEDULE_MANAGE: (Role.ADMIN,),
    APPOINTMENTS_READ: (*STAFF, Role.AUDITOR),
    APPOINTMENTS_WRITE: STAFF,
    APPOINTMENTS_OVERRIDE: (Role.ADMIN,),
    CALENDAR_FEEDS: (Role.ADMIN, *CLINICIANS),
    CALENDAR_FEEDS_ANY: (Role.ADMIN,),
}
