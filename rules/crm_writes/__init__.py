"""Changes on their way to the connected CRM (the outbox), as their users see them."""
