"""Every change to the data goes through a service: plain functions that take
the actor explicitly, check the rule, change the rows, flush, and raise a
DomainError on refusal. They never commit and never read current_user."""
