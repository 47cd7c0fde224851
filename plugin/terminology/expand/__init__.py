"""ValueSet expansion: sources of codes, filters, text search, paging and the `expansion` element."""
