"""Connectors to other systems, at the storage edge: they write the store, the domain never
imports them."""
