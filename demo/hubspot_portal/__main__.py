"""``python -m demo.hubspot_portal``: the stand-in as a process (see ``process``)."""

from demo.hubspot_portal.process import main

raise SystemExit(main())
