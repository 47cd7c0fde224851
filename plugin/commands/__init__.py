"""Subcommands of `cpt-plugin`; see plugin/cli.py for how a module here joins the CLI."""
